package schema

import (
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// Plugin is the schema of one plugin process.
type Plugin struct {
	Name        string
	Version     string
	Description string
	// Actions by name (the part after the dot in `http.check`).
	Actions map[string]*Action
}

// Action is the schema of one action: the step type `<plugin>.<action>`.
type Action struct {
	Name        string
	Description string
	Args        []*Attribute
	Outputs     []*Attribute
}

// Attribute is one typed argument or output.
type Attribute struct {
	Name        string
	Type        cty.Type
	Description string
	// Required arguments must be set by the step; others may be omitted
	// and arrive as null. Ignored for outputs.
	Required bool
	// Sensitive values are masked wherever zrun shows or stores them.
	Sensitive bool
	// Stream marks a byte stream between two steps (a pipe). An output
	// with Stream produces one, written through UI.OutputStream while the
	// action runs; an argument with Stream accepts one, read through
	// UI.InputStream. Type is cty.String for both: on the wire the value
	// is the pipe's opaque address, never the bytes.
	Stream bool
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// MetaArguments are the step arguments zrun itself owns; no action may
// declare an argument with one of these names.
var MetaArguments = []string{"action", "workflow", "depends_on", "when", "for_each", "target",
	"parallel", "batch_size", "max_failures", "max_fail_percentage", "timeout", "retry", "continue_on_error",
	"precondition", "postcondition"}

// ActionNames returns the plugin's action names, sorted.
func (p *Plugin) ActionNames() []string {
	names := make([]string, 0, len(p.Actions))
	for n := range p.Actions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate reports a schema that a plugin author got wrong. Serve panics
// on it at start-up, since it is a programmer bug, not a user error.
func (p *Plugin) Validate() error {
	if !nameRe.MatchString(p.Name) {
		return fmt.Errorf("plugin name %q must match %s", p.Name, nameRe)
	}
	for name, a := range p.Actions {
		if name != a.Name {
			return fmt.Errorf("action %q registered under name %q", a.Name, name)
		}
		if err := a.Validate(); err != nil {
			return fmt.Errorf("action %s.%s: %w", p.Name, a.Name, err)
		}
	}
	return nil
}

// Validate checks names and types of an action's attributes.
func (a *Action) Validate() error {
	if !nameRe.MatchString(a.Name) {
		return fmt.Errorf("action name %q must match %s", a.Name, nameRe)
	}
	for i, set := range [][]*Attribute{a.Args, a.Outputs} {
		isArgs := i == 0
		seen := map[string]bool{}
		for _, attr := range set {
			if !nameRe.MatchString(attr.Name) {
				return fmt.Errorf("attribute name %q must match %s", attr.Name, nameRe)
			}
			if seen[attr.Name] {
				return fmt.Errorf("duplicate attribute %q", attr.Name)
			}
			seen[attr.Name] = true
			if isArgs && slices.Contains(MetaArguments, attr.Name) {
				return fmt.Errorf("argument %q is a step meta-argument; choose another name", attr.Name)
			}
			if attr.Type == cty.NilType {
				return fmt.Errorf("attribute %q has no type", attr.Name)
			}
		}
	}
	return nil
}

// Arg returns the named argument, or nil.
func (a *Action) Arg(name string) *Attribute { return find(a.Args, name) }

// Output returns the named output, or nil.
func (a *Action) Output(name string) *Attribute { return find(a.Outputs, name) }

// ArgsType is the object type a step's arguments decode to.
func (a *Action) ArgsType() cty.Type { return objectType(a.Args) }

// OutputsType is the object type of the action's outputs.
func (a *Action) OutputsType() cty.Type { return objectType(a.Outputs) }

func find(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func objectType(attrs []*Attribute) cty.Type {
	m := make(map[string]cty.Type, len(attrs))
	for _, a := range attrs {
		m[a.Name] = a.Type
	}
	return cty.Object(m)
}
