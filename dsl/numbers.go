package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// maxExponent bounds the binary exponent of number literals. 1e9999999 is
// valid HCL, but converting it to a string takes seconds: a configuration
// must not be able to stall validation.
const maxExponent = 1 << 12

// checkNumberLiterals reports number literals too large or too small to be
// meant.
func checkNumberLiterals(f *hcl.File) hcl.Diagnostics {
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		lit, ok := n.(*hclsyntax.LiteralValueExpr)
		if !ok || lit.Val.Type() != cty.Number || !lit.Val.IsKnown() || lit.Val.IsNull() {
			return nil
		}
		if e := lit.Val.AsBigFloat().MantExp(nil); e > maxExponent || e < -maxExponent {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Number out of range",
				Detail:   fmt.Sprintf("This number is beyond ±2^%d, more than any operation needs. Use a smaller number.", maxExponent),
				Subject:  lit.SrcRange.Ptr(),
			})
		}
		return nil
	})
	return diags
}
