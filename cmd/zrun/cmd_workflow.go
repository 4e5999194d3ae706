package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/events"
)

// runFlags are the flags of the commands that run a workflow or show what
// a run would do (workflow, plan, resume), registered in one place.
type runFlags struct {
	env         string
	params      []string
	paramsFiles []string
	parallelism int
	output      string
	lockWait    time.Duration
	yes         bool
}

// runFlagUse says which of the optional run flags a command takes.
type runFlagUse int

const (
	withEnv      runFlagUse = 1 << iota // --env (resume runs where the run ran)
	withLockWait                        // --lock-wait (plan takes no lock)
	withYes                             // --yes (plan never asks)
)

func (f *runFlags) register(c *cobra.Command, use runFlagUse) {
	if use&withEnv != 0 {
		c.Flags().StringVarP(&f.env, "env", "e", os.Getenv("ZRUN_ENV"), "environment to run in (default $ZRUN_ENV; optional when the project has at most one)")
	}
	c.Flags().StringArrayVarP(&f.params, "param", "p", nil, "set a param, `name=value` (repeatable; sensitive params are never recorded)")
	c.Flags().StringArrayVar(&f.paramsFiles, "params-file", nil, "read params from a `FILE` of name = value lines (repeatable, in order; --param wins)")
	c.Flags().IntVar(&f.parallelism, "parallelism", 0, "how many actions may run at once (default 4 x CPUs)")
	c.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	if use&withLockWait != 0 {
		c.Flags().DurationVar(&f.lockWait, "lock-wait", 0, "wait this long (e.g. 5m) for another run holding the environment's lock")
	}
	if use&withYes != 0 {
		c.Flags().BoolVarP(&f.yes, "yes", "y", false, "run in a protected environment without asking for its name")
	}
}

func (f *runFlags) request(workflow string) (engine.RunRequest, error) {
	req := engine.RunRequest{Workflow: workflow, Env: f.env, Params: map[string]string{}, ParamsFiles: f.paramsFiles, LockWait: f.lockWait}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return req, &exitError{code: exitUsage, msg: fmt.Sprintf("--param %q: want name=value", p)}
		}
		req.Params[k] = v
	}
	if f.output != "text" && f.output != "json" {
		return req, &exitError{code: exitUsage, msg: fmt.Sprintf("--output %q: want text or json", f.output)}
	}
	return req, nil
}

func (a *app) workflowCmd() *cobra.Command {
	var f runFlags
	var dryRun bool
	c := &cobra.Command{
		Use:               "workflow NAME",
		Aliases:           []string{"run", "wf"},
		Short:             "Run a workflow",
		Example:           "  zrun workflow deploy --env stage --param version=1.4.2",
		Args:              exactArgs(1, "the workflow's name"),
		ValidArgsFunction: a.completeWorkflows,
		RunE: func(c *cobra.Command, args []string) error {
			req, err := f.request(args[0])
			if err != nil {
				return err
			}
			if dryRun {
				return a.plan(c, req, f)
			}
			req.Confirm = a.confirmer(f.yes)
			req.Commit = projectCommit(ctxOf(c), a.dir)
			return a.record(c, f, func(r *engine.Runner) (*engine.RunResult, hcl.Diagnostics) {
				return r.Run(ctxOf(c), req)
			})
		},
	}
	f.register(c, withEnv|withLockWait|withYes)
	c.Flags().BoolVar(&dryRun, "dry-run", false, "show what would run (the plan) without running anything")
	return c
}

// record runs fn with a recording runner and reports the run.
func (a *app) record(c *cobra.Command, f runFlags, fn func(*engine.Runner) (*engine.RunResult, hcl.Diagnostics)) error {
	view := a.newView(f.output)
	r, store, err := a.recordingRunner(ctxOf(c), view, f.parallelism)
	if err != nil {
		view.close()
		return err
	}
	defer store.Close()
	res, diags := fn(r)
	view.close()
	return a.finishRun(r.Config(), res, diags, f.output)
}

// finishRun reports a run's outcome and returns its exit code.
func (a *app) finishRun(cfg *dsl.Config, res *engine.RunResult, diags hcl.Diagnostics, output string) error {
	if diags.HasErrors() {
		return a.stoppedError(cfg, diags)
	}
	a.printDiags(cfg, diags)
	if output == "text" {
		a.printSummary(res)
	}
	if res.LedgerError != "" {
		fmt.Fprintf(a.stderr, "Warning: the run was not completely recorded in the ledger: %s\n", res.LedgerError)
	}
	return runExit(res, a.interrupted.Load())
}

// stoppedError prints the diagnostics that stopped a run or a plan before
// its steps, and returns their exit code, or the interrupt's when Ctrl-C
// stopped it.
func (a *app) stoppedError(cfg *dsl.Config, diags hcl.Diagnostics) error {
	err := a.diagError(cfg, diags)
	switch {
	case a.interrupted.Load():
		return &exitError{code: exitInterrupted}
	case engine.HasNotConfirmed(diags):
		return &exitError{code: exitNotConfirmed}
	}
	return err
}

// runExit maps a run's result to the exit code.
func runExit(res *engine.RunResult, interrupted bool) error {
	switch {
	case res.Status == events.StatusOK:
		return nil
	case interrupted || res.Status == events.StatusCancelled:
		return &exitError{code: exitInterrupted}
	case res.PluginFailed:
		return &exitError{code: exitPluginFailure}
	}
	return &exitError{code: exitRunFailed}
}

// exactArgs is cobra.ExactArgs with a message a newcomer understands.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("%s needs %s.\nUsage: %s", c.CommandPath(), what, c.UseLine())}
		}
		return nil
	}
}

func (a *app) completeWorkflows(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, diags := dslLoad(a.dir)
	if cfg == nil || diags.HasErrors() {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for name, wf := range cfg.Workflows {
		out = append(out, name+"\t"+wf.Description)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
