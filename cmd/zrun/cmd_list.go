package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
)

func dslLoad(dir string) (*dsl.Config, hcl.Diagnostics) { return dsl.NewParser().LoadProject(dir) }

func (a *app) listCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the project's workflows and their params",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := a.project()
			if err != nil {
				return err
			}
			names := make([]string, 0, len(cfg.Workflows))
			for n := range cfg.Workflows {
				names = append(names, n)
			}
			sort.Strings(names)
			tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			for _, n := range names {
				wf := cfg.Workflows[n]
				var params []string
				for _, pn := range wf.ParamOrder {
					p := wf.Params[pn]
					s := pn
					if !p.Required() {
						s = "[" + s + "]"
					}
					params = append(params, s)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", n, wf.Description, strings.Join(params, " "))
			}
			tw.Flush()
			if len(names) == 0 {
				fmt.Fprintln(a.stdout, "No workflows. Add one in workflows/NAME.hcl.")
			}
			return nil
		},
	}
}
