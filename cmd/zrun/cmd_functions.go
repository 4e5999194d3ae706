package main

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/agext/levenshtein"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl/funcs"
)

func (a *app) functionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "functions [NAME]",
		Short: "List the functions expressions may call, or describe one",
		Long: `zrun functions lists every function of the language with its signature and what it
returns, as README's table does; zrun functions NAME describes one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			docs := funcs.Docs()
			if len(args) == 0 {
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				for _, d := range docs {
					fmt.Fprintf(w, "%s\t%s\t%s\n", d.Name, d.Signature, d.Description)
				}
				return w.Flush()
			}
			for _, d := range docs {
				if d.Name == args[0] {
					fmt.Fprintf(a.stdout, "%s\n  %s\n", d.Signature, d.Description)
					return nil
				}
			}
			return &exitError{code: exitUsage, msg: fmt.Sprintf("there is no function %q. %s", args[0], suggestFunction(args[0], docs))}
		},
	}
}

// suggestFunction names the function closest to name, or says where the
// list is.
func suggestFunction(name string, docs []funcs.Doc) string {
	names := make([]string, len(docs))
	for i, d := range docs {
		names[i] = d.Name
	}
	sort.Slice(names, func(i, j int) bool {
		return levenshtein.Distance(name, names[i], nil) < levenshtein.Distance(name, names[j], nil)
	})
	if len(names) > 0 && levenshtein.Distance(name, names[0], nil) < 3 {
		return fmt.Sprintf("Did you mean %s?", names[0])
	}
	return "Run 'zrun functions' for the list."
}
