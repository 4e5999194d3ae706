package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine"
)

func (a *app) envCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "env",
		Short: "Inspect environments (dev, stage, prod...)",
	}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List environments",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := a.project()
			if err != nil {
				return err
			}
			for _, name := range sortedKeys(cfg.Environments) {
				e := cfg.Environments[name]
				line := name
				if e.Extends != "" {
					line += " (extends " + e.Extends + ")"
				}
				if e.Description != "" {
					line += "  " + e.Description
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}, &cobra.Command{
		Use:               "show NAME",
		Short:             "Show an environment's values after inheritance",
		Args:              exactArgs(1, "the environment's name"),
		ValidArgsFunction: a.completeEnvs,
		RunE: func(c *cobra.Command, args []string) error {
			e, err := a.env(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "environment %q", e.Name)
			if e.Extends != "" {
				fmt.Fprintf(a.stdout, " extends %q", e.Extends)
			}
			fmt.Fprintln(a.stdout)
			for _, l := range flattenEnv(e) {
				fmt.Fprintf(a.stdout, "  %s = %s\n", l[0], l[1])
			}
			return nil
		},
	}, &cobra.Command{
		Use:               "diff A B",
		Short:             "Show how two environments differ",
		Args:              exactArgs(2, "two environment names"),
		ValidArgsFunction: a.completeEnvs,
		RunE: func(c *cobra.Command, args []string) error {
			ea, err := a.env(args[0])
			if err != nil {
				return err
			}
			eb, err := a.env(args[1])
			if err != nil {
				return err
			}
			av, bv := toMap(flattenEnv(ea)), toMap(flattenEnv(eb))
			all := map[string]bool{}
			for k := range av {
				all[k] = true
			}
			for k := range bv {
				all[k] = true
			}
			n := 0
			for _, k := range sortedKeys(all) {
				x, inA := av[k]
				y, inB := bv[k]
				switch {
				case inA && !inB:
					fmt.Fprintf(a.stdout, "- %s = %s\n", k, x)
				case !inA && inB:
					fmt.Fprintf(a.stdout, "+ %s = %s\n", k, y)
				case x != y:
					fmt.Fprintf(a.stdout, "~ %s: %s -> %s\n", k, x, y)
				default:
					continue
				}
				n++
			}
			if n == 0 {
				fmt.Fprintf(a.stdout, "Environments %q and %q have the same values.\n", ea.Name, eb.Name)
			}
			return nil
		},
	})
	return c
}

func (a *app) env(name string) (*dsl.Environment, error) {
	cfg, err := a.project()
	if err != nil {
		return nil, err
	}
	e, ok := cfg.Environments[name]
	if !ok {
		return nil, &exitError{code: exitUsage, msg: fmt.Sprintf("no environment %q; there are: %s", name, strings.Join(sortedKeys(cfg.Environments), ", "))}
	}
	return e, nil
}

func (a *app) completeEnvs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, _ := dslLoad(a.dir)
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return sortedKeys(cfg.Environments), cobra.ShellCompDirectiveNoFileComp
}

// flattenEnv lists an environment's values and hosts as dotted paths and
// JSON values, sorted, with sensitive values redacted.
func flattenEnv(e *dsl.Environment) [][2]string {
	var out [][2]string
	var walk func(prefix string, v cty.Value)
	walk = func(prefix string, v cty.Value) {
		if !v.IsMarked() && v.IsKnown() && !v.IsNull() && v.Type().IsObjectType() && v.LengthInt() > 0 {
			for k, ev := range v.AsValueMap() {
				walk(prefix+"."+k, ev)
			}
			return
		}
		b, _ := json.Marshal(engine.DisplayValue(v))
		out = append(out, [2]string{prefix, string(b)})
	}
	for k, v := range e.Values() {
		walk("env."+k, v)
	}
	for name, sec := range e.Secrets() {
		out = append(out, [2]string{"secret." + name, "(" + sec.String() + ")"})
	}
	for name, h := range e.Hosts() {
		out = append(out, [2]string{"host." + name, fmt.Sprintf("%s@%s:%d", h.User, h.Address, h.Port)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func toMap(lines [][2]string) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		m[l[0]] = l[1]
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
