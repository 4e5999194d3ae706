package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/engine/events"
)

func (a *app) graphCmd() *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:               "graph NAME",
		Short:             "Print a workflow's step graph (Graphviz dot or Mermaid)",
		Example:           "  zrun graph deploy | dot -Tsvg > deploy.svg\n  zrun graph deploy --format mermaid",
		Args:              exactArgs(1, "the workflow's name"),
		ValidArgsFunction: a.completeWorkflows,
		RunE: func(c *cobra.Command, args []string) error {
			r, err := a.runner(events.Discard, 0)
			if err != nil {
				return err
			}
			g, name, diags := r.Graph(ctxOf(c), args[0])
			if diags.HasErrors() {
				return a.diagError(r.Config(), diags)
			}
			switch format {
			case "dot":
				fmt.Fprint(a.stdout, g.Dot(name))
			case "mermaid":
				fmt.Fprint(a.stdout, g.Mermaid(name))
			default:
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--format %q: want dot or mermaid", format)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"dot", "mermaid"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}
