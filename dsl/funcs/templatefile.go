package funcs

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/zrun-dev/zrun/dsl/limits"
)

// MakeTemplateFileFunc returns templatefile(PATH, VARS): the file at PATH
// (relative to baseDir) rendered as an HCL string template with the
// attributes of the VARS object as its variables and the functions funcsFn
// returns.
func MakeTemplateFileFunc(baseDir string, funcsFn func() map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Description: "Renders the file at the given path as a template, with the given variables.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.DynamicPseudoType),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if args[0].IsNull() {
				return cty.DynamicVal, function.NewArgErrorf(0, "must not be null")
			}
			vars := args[1]
			if !vars.IsWhollyKnown() {
				return cty.DynamicVal, nil
			}
			ty := vars.Type()
			if !vars.IsNull() && !ty.IsObjectType() && !ty.IsMapType() {
				return cty.DynamicVal, function.NewArgErrorf(1, "must be an object or a map of variables")
			}
			expr, err := loadTemplate(baseDir, args[0].AsString())
			if err != nil {
				return cty.DynamicVal, function.NewArgError(0, err)
			}
			return renderTemplate(expr, vars, funcsFn())
		},
	})
}

// loadTemplate reads and parses the template at path.
func loadTemplate(baseDir, path string) (hclsyntax.Expression, error) {
	// A template is lexed, which costs memory per token: it gets the bound
	// of HCL sources, not the larger one of plain files.
	src, err := readFile(baseDir, path, limits.MaxSourceSize)
	if err != nil {
		return nil, fmt.Errorf("cannot read template: %w", err)
	}
	if diags := limits.CheckTemplate(src, path); diags.HasErrors() {
		return nil, diags
	}
	expr, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return expr, nil
}
