package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk/schema"
)

func (a *app) pluginsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "plugins",
		Short: "List, document and lock plugins",
	}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List builtin and external plugins with their versions",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			_, m, err := a.projectPlugins()
			if err != nil {
				return err
			}
			for _, w := range m.Warnings() {
				fmt.Fprintln(a.stderr, "Warning:", w)
			}
			tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tKIND\tACTIONS")
			failed := 0
			for _, name := range m.Names() {
				kind := "external"
				if _, ok := builtins[name]; ok {
					kind = "builtin"
				}
				s, err := pluginSchema(c, m, name)
				if err != nil {
					fmt.Fprintf(tw, "%s\t?\t%s\terror: %s\n", name, kind, err)
					failed++
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, s.Version, kind, strings.Join(s.ActionNames(), ", "))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if failed > 0 {
				return &exitError{code: exitPluginFailure, msg: fmt.Sprintf("%d plugin(s) could not be started", failed)}
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "schema NAME",
		Short: "Print the reference documentation of a plugin's actions",
		Args:  exactArgs(1, "the plugin's name"),
		RunE: func(c *cobra.Command, args []string) error {
			_, m, err := a.projectPlugins()
			if err != nil {
				return err
			}
			s, err := pluginSchema(c, m, args[0])
			if err != nil {
				return &exitError{code: exitPluginFailure, msg: err.Error()}
			}
			fmt.Fprint(a.stdout, schemaDoc(s))
			return nil
		},
	}, &cobra.Command{
		Use:   "lock",
		Short: "Record each required external plugin's version and checksum in zrun.lock.hcl",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := a.project()
			if err != nil {
				return err
			}
			// The old lock file is neither read nor checked: whatever it
			// holds (a plugin rebuilt since, damage), this rewrites it.
			m, err := a.newManager(cfg, nil)
			if err != nil {
				return err
			}
			required := map[string]string{}
			for name, rp := range cfg.Project.RequiredPlugins {
				required[name] = rp.Version
			}
			lock, err := plugins.Lock(ctxOf(c), m, required)
			if err != nil {
				return &exitError{code: exitPluginFailure, msg: err.Error()}
			}
			path := filepath.Join(cfg.Dir, plugins.LockFileName)
			if err := lock.Write(path); err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			for _, name := range slices.Sorted(maps.Keys(lock.Plugins)) {
				fmt.Fprintf(a.stdout, "%s %s (sha256 %s)\n", name, lock.Plugins[name].Version, lock.Plugins[name].SHA256)
			}
			fmt.Fprintf(a.stdout, "Locked %d plugin(s) in %s.\n", len(lock.Plugins), path)
			return nil
		},
	})
	return c
}

// projectPlugins loads the project and the plugins it can use.
func (a *app) projectPlugins() (*dsl.Config, *plugins.Manager, error) {
	cfg, err := a.project()
	if err != nil {
		return nil, nil, err
	}
	m, err := a.manager(cfg)
	return cfg, m, err
}

// pluginSchema starts a plugin and fetches its schema.
func pluginSchema(c *cobra.Command, m *plugins.Manager, name string) (*schema.Plugin, error) {
	client, err := m.Client(ctxOf(c), name)
	if err != nil {
		return nil, err
	}
	return client.GetSchema(ctxOf(c))
}

// schemaDoc renders a plugin's schema as Markdown reference documentation.
func schemaDoc(s *schema.Plugin) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Plugin %s %s\n\n", s.Name, s.Version)
	if s.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", s.Description)
	}
	for _, name := range s.ActionNames() {
		a := s.Actions[name]
		fmt.Fprintf(&b, "## %s.%s\n\n", s.Name, a.Name)
		if a.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", a.Description)
		}
		writeAttrs(&b, "Arguments", a.Args, true)
		writeAttrs(&b, "Outputs", a.Outputs, false)
	}
	return b.String()
}

func writeAttrs(b *strings.Builder, title string, attrs []*schema.Attribute, args bool) {
	if len(attrs) == 0 {
		return
	}
	fmt.Fprintf(b, "%s:\n\n", title)
	for _, at := range attrs {
		var flags []string
		if args {
			if at.Required {
				flags = append(flags, "required")
			} else {
				flags = append(flags, "optional")
			}
		}
		if at.Sensitive {
			flags = append(flags, "sensitive")
		}
		fmt.Fprintf(b, "- `%s` (%s", at.Name, typeString(at.Type))
		if len(flags) > 0 {
			fmt.Fprintf(b, ", %s", strings.Join(flags, ", "))
		}
		fmt.Fprint(b, ")")
		if at.Description != "" {
			fmt.Fprintf(b, ": %s", at.Description)
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintln(b)
}

// typeString prints a type in HCL type-constraint syntax.
func typeString(t cty.Type) string {
	switch {
	case t == cty.DynamicPseudoType:
		return "any"
	case t.IsPrimitiveType():
		return t.FriendlyNameForConstraint()
	case t.IsListType():
		return "list(" + typeString(t.ElementType()) + ")"
	case t.IsSetType():
		return "set(" + typeString(t.ElementType()) + ")"
	case t.IsMapType():
		return "map(" + typeString(t.ElementType()) + ")"
	}
	return t.FriendlyNameForConstraint()
}
