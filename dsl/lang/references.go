package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// ReferencesInExpr returns the references in expr, with a diagnostic for
// each traversal that is not a valid reference. A nil expr has none.
func ReferencesInExpr(expr hcl.Expression) ([]*addrs.Reference, hcl.Diagnostics) {
	if expr == nil {
		return nil, nil
	}
	return references(expr.Variables())
}

// ReferencesInBody returns the references in the parts of body that spec
// decodes, with a diagnostic for each traversal that is not a valid
// reference.
func ReferencesInBody(body hcl.Body, spec hcldec.Spec) ([]*addrs.Reference, hcl.Diagnostics) {
	if body == nil || spec == nil {
		return nil, nil
	}
	return references(hcldec.Variables(body, spec))
}

func references(traversals []hcl.Traversal) ([]*addrs.Reference, hcl.Diagnostics) {
	var refs []*addrs.Reference
	var diags hcl.Diagnostics
	for _, tr := range traversals {
		ref, moreDiags := addrs.ParseRef(tr)
		diags = append(diags, moreDiags...)
		if ref != nil {
			refs = append(refs, ref)
		}
	}
	return refs, diags
}
