package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/limits"
)

// resolveParams turns the caller's params into the workflow's typed param
// values: raw strings from the command line (`--param k=v`), then typed
// values (a calling step's arguments), then defaults. Every problem is
// reported: unknown names, values that do not convert, missing required
// params.
func resolveParams(wf *dsl.Workflow, raw map[string]string, typed map[string]cty.Value) (map[string]cty.Value, hcl.Diagnostics) {
	return resolveParamsFrom(wf, nil, raw, typed)
}

// resolveParamsFrom is resolveParams with params files (`--params-file`)
// under the raw strings: their values count unless --param sets the same
// name.
func resolveParamsFrom(wf *dsl.Workflow, files []*dsl.ParamsFile, raw map[string]string, typed map[string]cty.Value) (map[string]cty.Value, hcl.Diagnostics) {
	// invalid: reported already, not missing too; nor is any when a file
	// could not be read whole.
	out, invalid, incomplete, diags := fileParams(wf, files)
	for name, s := range raw {
		p, ok := wf.Params[name]
		if !ok {
			diags = append(diags, unknownParam(wf, name))
			continue
		}
		v, err := parseParam(s, p.Type)
		if err != nil {
			diags = append(diags, invalidParam(wf, p, err, p.Sensitive, "--param value"))
			invalid[name] = true
			continue
		}
		out[name] = v
		delete(invalid, name)
	}
	for name, v := range typed {
		p, ok := wf.Params[name]
		if !ok {
			diags = append(diags, unknownParam(wf, name))
			continue
		}
		if v.IsNull() {
			continue // an optional argument the caller left out
		}
		cv, err := convert.Convert(v, p.Type)
		if err != nil {
			diags = append(diags, invalidParam(wf, p, err, p.Sensitive || v.ContainsMarked(), v.Type().FriendlyName()))
			invalid[name] = true
			continue
		}
		out[name] = cv
	}
	for _, name := range wf.ParamOrder {
		p := wf.Params[name]
		if invalid[name] {
			continue
		}
		if _, ok := out[name]; !ok {
			if p.Required() && incomplete {
				continue
			}
			if p.Required() {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Missing required param",
					Detail:   fmt.Sprintf("Workflow %q needs param %q (%s). Pass it with --param %s=VALUE (or in a --params-file), or give the param a default.", wf.Name, name, p.Type.FriendlyName(), name),
					Subject:  p.DeclRange.Ptr(),
				})
				continue
			}
			out[name] = p.Default
		}
		if p.Sensitive {
			out[name] = out[name].Mark(sensitiveMark)
		}
	}
	return out, diags
}

// invalidParam reports a value that is not of the param's type. The
// error may quote the value (parseParam's do), so for a sensitive value
// the detail says only what was given (given: "--param value" or the
// value's type) and what the param wants.
func invalidParam(wf *dsl.Workflow, p *dsl.Param, err error, sensitive bool, given string) *hcl.Diagnostic {
	detail := fmt.Sprintf("Param %q of workflow %q wants %s: %s.", p.Name, wf.Name, p.Type.FriendlyName(), err)
	if sensitive {
		detail = fmt.Sprintf("Param %q of workflow %q wants %s; the %s given cannot be converted to it. The value is sensitive, so it is not shown here.",
			p.Name, wf.Name, p.Type.FriendlyName(), given)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid param value",
		Detail:   detail,
		Subject:  p.DeclRange.Ptr(),
	}
}

func unknownParam(wf *dsl.Workflow, name string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown param",
		Detail:   fmt.Sprintf("Workflow %q has no param %q. %s", wf.Name, name, suggest(name, wf.ParamOrder, "params")),
		Subject:  wf.NameRange.Ptr(),
	}
}

// parseParam reads a command-line value: taken literally for a string
// param, as an HCL expression (42, true, ["a","b"], {k="v"}) otherwise.
func parseParam(s string, ty cty.Type) (cty.Value, error) {
	if ty == cty.String {
		return cty.StringVal(s), nil
	}
	// Bound the nesting before the parser recurses into it.
	if diags := limits.CheckExpr([]byte(s), "<param>", hcl.InitialPos); diags.HasErrors() {
		if ty == cty.DynamicPseudoType {
			return cty.StringVal(s), nil
		}
		return cty.NilVal, fmt.Errorf("the value nests too deeply: %s", diags[0].Detail)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(s), "<param>", hcl.InitialPos)
	if diags.HasErrors() {
		if ty == cty.DynamicPseudoType {
			return cty.StringVal(s), nil
		}
		return cty.NilVal, fmt.Errorf("%q is not a valid HCL value", s)
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		if ty == cty.DynamicPseudoType {
			return cty.StringVal(s), nil
		}
		return cty.NilVal, fmt.Errorf("%q is not a constant value", s)
	}
	if err := checkNumbers(v); err != nil {
		return cty.NilVal, err
	}
	return convert.Convert(v, ty)
}

// maxExponent bounds the binary exponent of numbers from the command line:
// 1e9999999 is a valid HCL number, but printing it takes seconds.
const maxExponent = 1 << 12

// checkNumbers rejects numbers too large or too small to be meant.
func checkNumbers(v cty.Value) error {
	return cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.Type() == cty.Number && v.IsKnown() && !v.IsNull() {
			if e := v.AsBigFloat().MantExp(nil); e > maxExponent || e < -maxExponent {
				return false, fmt.Errorf("a number is out of range (beyond ±2^%d)", maxExponent)
			}
		}
		return true, nil
	})
}
