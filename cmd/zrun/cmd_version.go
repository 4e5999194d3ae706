package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print zrun's version and its builtin plugins",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = " (" + s.Value[:12] + ")"
					}
				}
			}
			fmt.Fprintf(a.stdout, "zrun %s%s %s/%s %s\n", version, rev, runtime.GOOS, runtime.GOARCH, runtime.Version())
			names := make([]string, 0, len(builtins))
			for n := range builtins {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if c, ok := companions[n]; ok {
					fmt.Fprintf(a.stdout, "  builtin plugin %s (in %s)\n", n, c)
					continue
				}
				fmt.Fprintf(a.stdout, "  builtin plugin %s %s\n", n, builtins[n]().Version)
			}
			fmt.Fprintln(a.stdout, "  plugin protocol 1")
			return nil
		},
	}
}
