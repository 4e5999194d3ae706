package engine

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzParseParam: --param values come straight from the command line;
// whatever they hold, parsing returns a value or an error, never a panic.
func FuzzParseParam(f *testing.F) {
	for _, seed := range []string{"42", "true", `["a","b"]`, `{k="v"}`, "${", "x ? y", ""} {
		f.Add(seed)
	}
	types := []cty.Type{cty.String, cty.Number, cty.Bool, cty.List(cty.String), cty.Map(cty.Number), cty.DynamicPseudoType}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ty := range types {
			v, err := parseParam(s, ty)
			if err == nil && !v.Type().Equals(ty) && ty != cty.DynamicPseudoType {
				t.Fatalf("parseParam(%q, %s) = %s value", s, ty.FriendlyName(), v.Type().FriendlyName())
			}
		}
	})
}
