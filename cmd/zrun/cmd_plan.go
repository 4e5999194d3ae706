package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
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
	f.register(c, withEnv)
	return c
}

func (a *app) plan(c *cobra.Command, req engine.RunRequest, f runFlags) error {
	r, err := a.runner(events.Discard, f.parallelism)
	if err != nil {
		return err
	}
	p, diags := r.Plan(ctxOf(c), req)
	if diags.HasErrors() {
		return a.stoppedError(r.Config(), diags)
	}
	a.printDiags(r.Config(), diags)
	if f.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	a.printPlan(p, f.runCommand(c, a.dir, r.Config().Workflows[p.Workflow], p.Env))
	if env := r.Config().Environments[p.Env]; env != nil && env.Protected() {
		fmt.Fprintf(a.stdout, "Environment %s is protected: the run asks for its name to be typed (or takes --yes).\n", p.Env)
	}
	return nil
}

// runCommand is the command that runs what a plan showed: the plan's
// workflow and environment, and the flags given that change what runs
// (-C, each --params-file in order, each --param, --parallelism,
// --lock-wait), every word shell-quoted.
// A sensitive param's value is never shown: it reads name=... for the
// reader to fill in.
func (f *runFlags) runCommand(c *cobra.Command, dir string, wf *dsl.Workflow, env string) string {
	words := []string{"zrun"}
	if c.Flags().Changed("chdir") {
		words = append(words, "-C", dir)
	}
	words = append(words, "workflow", wf.Name, "--env", env)
	for _, p := range f.paramsFiles {
		words = append(words, "--params-file", p)
	}
	values := map[string]string{}
	var names []string // in the order first given; the last value wins
	for _, p := range f.params {
		k, v, _ := strings.Cut(p, "=")
		if _, ok := values[k]; !ok {
			names = append(names, k)
		}
		values[k] = v
	}
	for _, k := range names {
		v := values[k]
		if p := wf.Params[k]; p == nil || p.Sensitive {
			v = "..."
		}
		words = append(words, "--param", k+"="+v)
	}
	if c.Flags().Changed("parallelism") {
		words = append(words, "--parallelism", strconv.Itoa(f.parallelism))
	}
	if c.Flags().Changed("lock-wait") {
		words = append(words, "--lock-wait", f.lockWait.String())
	}
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

// shellQuote returns s as one word for a POSIX shell: as it is when it
// holds only characters no shell treats specially, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) printPlan(p *engine.Plan, runCommand string) {
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
		line := fmt.Sprintf("%s %s  %s", mark, s.Addr, s.Action) + planHost(s)
		if len(s.DependsOn) > 0 {
			line += "  (after " + strings.Join(s.DependsOn, ", ") + ")"
		}
		for _, p := range s.Pipes {
			line += "  (" + p + ")"
		}
		fmt.Fprintln(w, line)
		for _, ch := range s.Changes {
			fmt.Fprintf(w, "      %s\n", ch)
		}
	}
	fmt.Fprintf(w, "\n%d step(s). Nothing was run. Run it with: %s\n", len(p.Steps), runCommand)
}

// planHost says where a planned step runs, "" for the local machine:
// "  on web1", and for one host of a group its batch and how many of the
// group's hosts run at once.
func planHost(s *engine.PlannedStep) string {
	switch {
	case s.Group == "" && s.Host == "":
		return ""
	case s.Group == "":
		return "  on " + s.Host
	case s.Host == "":
		return "  on group " + s.Group
	}
	return fmt.Sprintf("  on %s (group %s, batch %d of %d, %d at once)", s.Host, s.Group, s.Batch, s.Batches, s.Parallel)
}
