package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/events"
)

func (a *app) planCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:               "plan NAME",
		Short:             "Show what a workflow would do, without running it",
		Args:              exactArgs(1, "the workflow's name"),
		ValidArgsFunction: a.completeWorkflows,
		RunE: func(c *cobra.Command, args []string) error {
			req, err := f.request(args[0])
			if err != nil {
				return err
			}
			return a.plan(c, req, f)
		},
	}
	f.register(c)
	return c
}

func (a *app) plan(c *cobra.Command, req engine.RunRequest, f runFlags) error {
	r, err := a.runner(events.Discard, f.parallelism)
	if err != nil {
		return err
	}
	p, diags := r.Plan(ctxOf(c), req)
	if diags.HasErrors() {
		return a.diagError(r.Config(), diags)
	}
	a.printDiags(r.Config(), diags)
	if f.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	a.printPlan(p)
	return nil
}

func (a *app) printPlan(p *engine.Plan) {
	w := a.stdout
	fmt.Fprintf(w, "Plan: workflow %q in environment %q\n", p.Workflow, p.Env)
	if len(p.Params) > 0 {
		names := make([]string, 0, len(p.Params))
		for k := range p.Params {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  param.%s = %s\n", k, p.Params[k])
		}
	}
	fmt.Fprintln(w)
	kind := ""
	for _, s := range p.Steps {
		if s.Kind != kind {
			kind = s.Kind
			if kind != "main" {
				fmt.Fprintf(w, "%s:\n", kind)
			}
		}
		mark := "+"
		switch {
		case s.Skip:
			mark = "-"
		case s.NoOp:
			mark = "="
		}
		line := fmt.Sprintf("%s %s  %s", mark, s.Addr, s.Action)
		if len(s.DependsOn) > 0 {
			line += "  (after " + strings.Join(s.DependsOn, ", ") + ")"
		}
		fmt.Fprintln(w, line)
		for _, ch := range s.Changes {
			fmt.Fprintf(w, "      %s\n", ch)
		}
	}
	fmt.Fprintf(w, "\n%d step(s). Nothing was run. Run it with: zrun workflow %s --env %s\n", len(p.Steps), p.Workflow, p.Env)
}
