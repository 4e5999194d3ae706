package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/engine/events"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every workflow against every environment, without running anything",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := a.runner(events.Discard, 0)
			if err != nil {
				return err
			}
			diags := r.Validate(ctxOf(c))
			if diags.HasErrors() {
				return a.diagError(r.Config(), diags)
			}
			a.printDiags(r.Config(), diags)
			cfg := r.Config()
			fmt.Fprintf(a.stdout, "The project is valid: %d workflow(s), %d environment(s).\n", len(cfg.Workflows), len(cfg.Environments))
			return nil
		},
	}
}
