package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every workflow against every environment, without running anything",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			// Unlike the commands that run, validate goes on past the
			// project's load errors and checks what did load against
			// the plugins, so that one pass reports every problem.
			rpc.PrepareTLS()
			cfg, diags := dsl.NewParser().LoadProject(a.dir)
			if cfg == nil {
				return a.diagError(nil, diags)
			}
			// A lock file that cannot be read stops here: plugins are
			// only started once their checksums can be checked.
			if _, lockDiags := plugins.ReadLock(filepath.Join(cfg.Dir, plugins.LockFileName)); lockDiags.HasErrors() {
				return a.diagError(cfg, append(diags, lockDiags...))
			}
			m, err := a.manager(cfg)
			if err != nil {
				return err
			}
			r := engine.New(engine.Options{Config: cfg, Plugins: m, Sink: events.Discard})
			diags = append(diags, r.Validate(ctxOf(c))...)
			if diags.HasErrors() {
				return a.diagError(cfg, diags)
			}
			a.printDiags(cfg, diags)
			fmt.Fprintf(a.stdout, "The project is valid: %d workflow(s), %d environment(s).\n", len(cfg.Workflows), len(cfg.Environments))
			return nil
		},
	}
}
