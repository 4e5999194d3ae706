package engine

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
)

// TestResolveParamsSensitiveErrors gives sensitive params values of the
// wrong type, from the command line and from a calling step: the
// diagnostics say what is wrong and never hold the value. A param that is
// not sensitive still shows what it got.
func TestResolveParamsSensitiveErrors(t *testing.T) {
	const value = "hunter2-secret"
	param := func(name string, ty cty.Type, sensitive bool) *dsl.Param {
		return &dsl.Param{Name: name, Type: ty, Default: cty.NullVal(ty), Sensitive: sensitive}
	}
	wf := &dsl.Workflow{Name: "w", Params: map[string]*dsl.Param{
		"num":   param("num", cty.Number, true),
		"list":  param("list", cty.List(cty.String), true),
		"flag":  param("flag", cty.Bool, true),
		"plain": param("plain", cty.Number, false),
	}, ParamOrder: []string{"num", "list", "flag", "plain"}}
	wf.Params["num"].Default = cty.NilVal // required: an invalid value is not also missing
	tests := map[string]struct {
		raw       map[string]string
		typed     map[string]cty.Value
		wantShown bool
	}{
		"not a number":                  {raw: map[string]string{"num": value}},
		"not an HCL value":              {raw: map[string]string{"list": value + " ${"}},
		"not a list":                    {raw: map[string]string{"list": `"` + value + `"`}},
		"a step's value, not a bool":    {typed: map[string]cty.Value{"flag": cty.StringVal(value)}},
		"a secret to a plain param":     {typed: map[string]cty.Value{"plain": cty.StringVal(value).Mark(sensitiveMark)}},
		"a plain param shows its value": {raw: map[string]string{"plain": value}, wantShown: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, all := resolveParams(wf, tc.raw, tc.typed)
			var diags hcl.Diagnostics
			for _, d := range all {
				if d.Summary == "Missing required param" && tc.raw["num"] != "" {
					t.Errorf("an invalid value is reported as missing too: %s", d.Detail)
				}
				if d.Summary != "Missing required param" {
					diags = append(diags, d)
				}
			}
			if len(diags) != 1 || diags[0].Summary != "Invalid param value" {
				t.Fatalf("diagnostics %v, want one Invalid param value", diags)
			}
			if shown := strings.Contains(diags[0].Detail, value); shown != tc.wantShown {
				t.Errorf("value shown %v, want %v: %s", shown, tc.wantShown, diags[0].Detail)
			}
			if !tc.wantShown && !strings.Contains(diags[0].Detail, "not shown") {
				t.Errorf("detail %q does not say the value is not shown", diags[0].Detail)
			}
		})
	}
}

// TestParseParamDeep: a deeply nested --param value is an error, never a
// stack overflow in the parser.
func TestParseParamDeep(t *testing.T) {
	for _, s := range []string{strings.Repeat("[", 1<<20), strings.Repeat("(", 1<<20) + "1", strings.Repeat("!", 1<<20) + "true"} {
		if _, err := parseParam(s, cty.List(cty.String)); err == nil || !strings.Contains(err.Error(), "nests too deeply") {
			t.Errorf("parseParam(%.10q...): %v", s, err)
		}
	}
}
