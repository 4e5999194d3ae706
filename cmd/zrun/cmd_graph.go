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
		Short:             "Print a workflow's step graph (Graphviz dot, Mermaid or text)",
		Example:           "  zrun graph deploy | dot -Tsvg > deploy.svg\n  zrun graph deploy --format mermaid\n  zrun graph deploy --format text",
		Args:              exactArgs(1, "the workflow's name"),
		ValidArgsFunction: a.completeWorkflows,
		RunE: func(c *cobra.Command, args []string) error {
			if format != "dot" && format != "mermaid" && format != "text" {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--format %q: want dot, mermaid or text", format)}
			}
			r, err := a.runner(events.Discard, 0)
			if err != nil {
				return err
			}
			g, labels, diags := r.Graph(ctxOf(c), args[0])
			if diags.HasErrors() {
				return a.diagError(r.Config(), diags)
			}
			switch format {
			case "dot":
				fmt.Fprint(a.stdout, g.Dot(labels))
			case "mermaid":
				fmt.Fprint(a.stdout, g.Mermaid(labels))
			default:
				fmt.Fprint(a.stdout, g.Text(labels))
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "dot, mermaid or text")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"dot", "mermaid", "text"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}
