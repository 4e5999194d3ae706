package addrs

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Action names a plugin action, written `<plugin>.<action>` (http.check).
type Action struct {
	Plugin string
	Name   string
	Range  hcl.Range
}

// String returns the address in HCL traversal syntax.
func (a Action) String() string { return a.Plugin + "." + a.Name }

// ParseAction parses a bare traversal such as http.check into an Action.
// Anything other than exactly two plain names is an "Invalid action address".
func ParseAction(traversal hcl.Traversal) (Action, hcl.Diagnostics) {
	rng := traversal.SourceRange()
	invalid := func(detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid action address",
			Detail:   detail + ` An action is written as <plugin>.<action>, without quotes, like action = http.check.`,
			Subject:  rng.Ptr(),
		}}
	}
	if len(traversal) != 2 {
		return Action{}, invalid(fmt.Sprintf("The address has %d parts; it needs exactly 2.", len(traversal)))
	}
	root, ok := traversal[0].(hcl.TraverseRoot)
	if !ok {
		return Action{}, invalid("The address must start with a plugin name.")
	}
	attr, ok := traversal[1].(hcl.TraverseAttr)
	if !ok {
		return Action{}, invalid("The plugin name must be followed by a dot and an action name.")
	}
	return Action{Plugin: root.Name, Name: attr.Name, Range: rng}, nil
}
