package dsl

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl/limits"
)

// ParamsFile is a params file (`--params-file`): `name = value` lines, as
// in a Terraform .tfvars file, each value an HCL constant. Which workflow
// the names belong to, and the values' types, are the engine's to check.
type ParamsFile struct {
	// Name is the file's path as given, which its ranges name.
	Name   string
	Values []*ParamValue // in source order
	// Incomplete is true when the file could not be read or parsed whole,
	// so that it may set more than Values holds.
	Incomplete bool
}

// ParamValue is one `name = value` line of a params file.
type ParamValue struct {
	Name string
	// Value is cty.NilVal when it could not be read (a reference, a
	// function call): LoadParamsFile reported why.
	Value      cty.Value
	NameRange  hcl.Range
	ValueRange hcl.Range
}

// LoadParamsFile reads and parses the params file at path: a regular file
// of at most limits.MaxSourceSize bytes, its nesting checked before it is
// parsed. Diagnostics point into the file; none quotes a value, since any
// of them may be a sensitive param's (nor does a caller render snippets of
// the file, for the same reason).
func LoadParamsFile(path string) (*ParamsFile, hcl.Diagnostics) {
	pf := &ParamsFile{Name: path}
	src, err := ReadSource(path)
	if err != nil {
		pf.Incomplete = true
		return pf, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read params file",
			Detail: fmt.Sprintf("The params file %s cannot be read: %s. A params file is a regular file of at most %d MiB of name = value lines.",
				path, errText(err), limits.MaxSourceSize>>20),
		}}
	}
	f, diags := NewParser().parse(path, src)
	if diags.HasErrors() || f == nil {
		pf.Incomplete = true
		return pf, diags
	}
	attrs, moreDiags := f.Body.JustAttributes()
	diags = append(diags, moreDiags...)
	pf.Incomplete = moreDiags.HasErrors()
	sorted := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		sorted = append(sorted, a)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Range.Start.Byte < sorted[j].Range.Start.Byte })
	for _, a := range sorted {
		v, moreDiags := constantValue(a.Expr)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			v = cty.NilVal
		}
		pf.Values = append(pf.Values, &ParamValue{Name: a.Name, Value: v, NameRange: a.NameRange, ValueRange: a.Expr.Range()})
	}
	return pf, diags
}

// constantValue evaluates a params file's value, which may be any HCL
// constant (a string, number, bool, list, map, or an expression of
// constants) but neither refer to anything nor call a function.
func constantValue(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	const how = "A params file gives each param a constant: a string in quotes, a number, true or false, a list [...] or a map {...}."
	if vars := expr.Variables(); len(vars) > 0 {
		// The reference itself is not quoted: an unquoted secret reads as one.
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "References not allowed",
			Detail:   how + " This value refers to a name; if it is meant as a string, put it in quotes.",
			Subject:  vars[0].SourceRange().Ptr(),
		}}
	}
	var diags hcl.Diagnostics
	if e, ok := expr.(hclsyntax.Expression); ok {
		_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && len(diags) == 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Function calls not allowed",
					Detail:   how + " Function " + call.Name + " cannot be called here: write the value it would give.",
					Subject:  call.NameRange.Ptr(),
				})
			}
			return nil
		})
	}
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid param value", Detail: how, Subject: expr.Range().Ptr()}}
	}
	return v, nil
}
