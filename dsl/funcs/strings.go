package funcs

import (
	"regexp"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// stringTest returns a function of two strings that reports test(str, sub),
// as startswith, endswith and strcontains do.
func stringTest(first, second string, test func(s, sub string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: first, Type: cty.String},
			{Name: second, Type: cty.String},
		},
		Type:         function.StaticReturnType(cty.Bool),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(test(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

// StartsWithFunc is startswith(str, prefix).
var StartsWithFunc = stringTest("str", "prefix", strings.HasPrefix)

// EndsWithFunc is endswith(str, suffix).
var EndsWithFunc = stringTest("str", "suffix", strings.HasSuffix)

// StrContainsFunc is strcontains(str, substr).
var StrContainsFunc = stringTest("str", "substr", strings.Contains)

// ReplaceFunc is replace(str, substr, replace), as Terraform's: a substr
// wrapped in slashes ("/[0-9]+/") is a regular expression, whose
// replacement may name its groups ($1, ${name}); any other substr is
// replaced literally, everywhere.
var ReplaceFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "str", Type: cty.String},
		{Name: "substr", Type: cty.String},
		{Name: "replace", Type: cty.String},
	},
	Type:         function.StaticReturnType(cty.String),
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		str, substr, repl := args[0].AsString(), args[1].AsString(), args[2].AsString()
		if len(substr) > 1 && strings.HasPrefix(substr, "/") && strings.HasSuffix(substr, "/") {
			re, err := regexp.Compile(substr[1 : len(substr)-1])
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "invalid regular expression: %s", err)
			}
			return cty.StringVal(re.ReplaceAllString(str, repl)), nil
		}
		return stdlib.Replace(args[0], args[1], args[2])
	},
})
