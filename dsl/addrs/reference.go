package addrs

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Referenceable is an object an expression can reference: Param, EnvValue,
// Secret, StepRef, Each, RunAttr or Self. Its values are comparable and may be used as map
// keys.
type Referenceable interface {
	referenceableSigil()
	// String returns the address in HCL traversal syntax.
	String() string
}

// Reference is one reference found in an expression: what it names, where it
// was written, and the rest of the traversal after the named object (for
// step.build.image that is .image).
type Reference struct {
	Subject     Referenceable
	SourceRange hcl.Range
	Remaining   hcl.Traversal
}

// String returns the whole reference in HCL traversal syntax.
func (r *Reference) String() string {
	return r.Subject.String() + TraversalString(r.Remaining)
}

// Root names a reference may start with.
const (
	RootParam  = "param"
	RootEnv    = "env"
	RootSecret = "secret"
	RootStep   = "step"
	RootEach   = "each"
	RootRun    = "run"
	// RootSelf is a step's own outputs, in its postconditions only.
	RootSelf = "self"
)

// reservedRoots are names kept for later versions of the language.
var reservedRoots = map[string]string{
	"host": "Hosts are read from the selected environment as env.hosts.NAME.",
}

// ParseRef parses a traversal found in an expression (from
// hcl.Expression.Variables) into a Reference. It reports an "Invalid
// reference" diagnostic for an unknown root or a malformed address.
func ParseRef(traversal hcl.Traversal) (*Reference, hcl.Diagnostics) {
	if len(traversal) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   "An empty reference is not valid.",
		}}
	}
	root := traversal.RootName()
	rng := traversal.SourceRange()
	switch root {
	case RootParam:
		return parseNamed(traversal, "param name", "param.attempts", func(n string) Referenceable { return Param{Name: n} })
	case RootEnv:
		return parseNamed(traversal, "environment value name", "env.log_level", func(n string) Referenceable { return EnvValue{Name: n} })
	case RootSecret:
		return parseNamed(traversal, "secret name", "secret.db_password", func(n string) Referenceable { return Secret{Name: n} })
	case RootStep:
		return parseNamed(traversal, "step name", "step.build.image", func(n string) Referenceable { return StepRef{Name: n} })
	case RootEach:
		return parseAttr(traversal, "each.key or each.value", []string{EachKey, EachValue}, func(n string) Referenceable { return Each{Attr: n} })
	case RootSelf:
		return &Reference{Subject: Self{}, SourceRange: traversal[0].SourceRange(), Remaining: traversal[1:]}, nil
	case RootRun:
		return parseAttr(traversal, "run.id, run.workflow, run.env, run.started_at or run.releases", runAttrs, func(n string) Referenceable { return RunAttr{Name: n} })
	}
	if detail, ok := reservedRoots[root]; ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported reference",
			Detail:   fmt.Sprintf("%q is reserved for a later version of zrun. %s", root, detail),
			Subject:  rng.Ptr(),
		}}
	}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail: fmt.Sprintf("There is nothing named %q. A reference starts with one of: %s.",
			root, strings.Join([]string{RootParam, RootEnv, RootSecret, RootStep, RootEach, RootRun, RootSelf}, ", ")),
		Subject: rng.Ptr(),
	}}
}

// parseNamed parses ROOT.NAME followed by anything.
func parseNamed(traversal hcl.Traversal, what, example string, mk func(string) Referenceable) (*Reference, hcl.Diagnostics) {
	root := traversal.RootName()
	if len(traversal) < 2 {
		return nil, invalidRef(traversal.SourceRange(), fmt.Sprintf("%q must be followed by a %s, like %s.", root, what, example))
	}
	attr, ok := traversal[1].(hcl.TraverseAttr)
	if !ok {
		return nil, invalidRef(traversal.SourceRange(), fmt.Sprintf("%q must be followed by a dot and a %s, like %s.", root, what, example))
	}
	return &Reference{
		Subject:     mk(attr.Name),
		SourceRange: hcl.RangeBetween(traversal[0].SourceRange(), attr.SrcRange),
		Remaining:   traversal[2:],
	}, nil
}

// parseAttr parses ROOT.ATTR where ATTR is one of a fixed set.
func parseAttr(traversal hcl.Traversal, what string, allowed []string, mk func(string) Referenceable) (*Reference, hcl.Diagnostics) {
	root := traversal.RootName()
	var attr hcl.TraverseAttr
	ok := len(traversal) >= 2
	if ok {
		attr, ok = traversal[1].(hcl.TraverseAttr)
	}
	if ok {
		ok = false
		for _, a := range allowed {
			ok = ok || a == attr.Name
		}
	}
	if !ok {
		return nil, invalidRef(traversal.SourceRange(), fmt.Sprintf("The %q object has only %s.", root, what))
	}
	return &Reference{
		Subject:     mk(attr.Name),
		SourceRange: hcl.RangeBetween(traversal[0].SourceRange(), attr.SrcRange),
		Remaining:   traversal[2:],
	}, nil
}

func invalidRef(rng hcl.Range, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   detail,
		Subject:  rng.Ptr(),
	}}
}

// TraversalString prints a relative traversal in HCL syntax: .name for an
// attribute, ["key"] or [0] for an index.
func TraversalString(traversal hcl.Traversal) string {
	var b strings.Builder
	for _, step := range traversal {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			b.WriteString("[" + keyString(s.Key) + "]")
		case hcl.TraverseSplat:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// keyString prints an index key the way it would be written in HCL.
func keyString(key cty.Value) string {
	key, _ = key.Unmark()
	switch {
	case !key.IsKnown() || key.IsNull():
		return "?"
	case key.Type() == cty.String:
		return fmt.Sprintf("%q", key.AsString())
	case key.Type() == cty.Number:
		return key.AsBigFloat().Text('f', -1)
	}
	return "?"
}

// ValidName reports whether name is a valid HCL identifier, as every
// workflow, environment, param, step, output and host name must be.
func ValidName(name string) bool { return hclsyntax.ValidIdentifier(name) }
