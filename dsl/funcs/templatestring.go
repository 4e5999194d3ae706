package funcs

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zrun-dev/zrun/dsl/limits"
)

// MakeTemplateStringFunc returns templatestring(template, vars): the
// string rendered as an HCL string template (${...}, %{ for }...) with the
// attributes of the vars object as its variables and the functions
// funcsFn returns.
func MakeTemplateStringFunc(funcsFn func() map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "template", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.DynamicPseudoType),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			vars := args[1]
			if !vars.IsWhollyKnown() {
				return cty.DynamicVal, nil
			}
			if ty := vars.Type(); !vars.IsNull() && !ty.IsObjectType() && !ty.IsMapType() {
				return cty.DynamicVal, function.NewArgErrorf(1, "must be an object or a map of variables")
			}
			src := []byte(args[0].AsString())
			if diags := limits.CheckTemplate(src, "<templatestring>"); diags.HasErrors() {
				return cty.DynamicVal, function.NewArgError(0, diags)
			}
			expr, diags := hclsyntax.ParseTemplate(src, "<templatestring>", hcl.InitialPos)
			if diags.HasErrors() {
				return cty.DynamicVal, function.NewArgError(0, diags)
			}
			return renderTemplate(expr, vars, funcsFn())
		},
	})
}

// renderTemplate evaluates a parsed template with the attributes of vars
// (an object, a map or null) as its variables; a variable the template
// uses that vars lacks is an error on vars.
func renderTemplate(expr hclsyntax.Expression, vars cty.Value, fns map[string]function.Function) (cty.Value, error) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: fns}
	if !vars.IsNull() {
		for it := vars.ElementIterator(); it.Next(); {
			k, v := it.Element()
			ctx.Variables[k.AsString()] = v
		}
	}
	for _, tr := range expr.Variables() {
		if _, ok := ctx.Variables[tr.RootName()]; !ok {
			return cty.DynamicVal, function.NewArgErrorf(1, "vars has no %q, which the template uses at %s", tr.RootName(), tr.SourceRange())
		}
	}
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return val, nil
}
