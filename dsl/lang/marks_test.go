package lang

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// TestSensitiveFunctionsInScope: sensitive, nonsensitive and issensitive
// carry marks through the scope's wrapped function table: nonsensitive's
// result has no mark left, not even a Derived one, and sensitive's has the
// engine's mark with its text derived.
func TestSensitiveFunctionsInScope(t *testing.T) {
	tests := map[string]struct {
		src  string
		want cty.Value
	}{
		"issensitive of a secret":   {`issensitive(secret.db_password)`, cty.True},
		"issensitive of a literal":  {`issensitive("x")`, cty.False},
		"nonsensitive of a length":  {`nonsensitive(length(secret.db_password))`, cty.NumberIntVal(7)},
		"nonsensitive of a derived": {`nonsensitive(upper(secret.db_password))`, cty.StringVal("HUNTER2")},
		"sensitive":                 {`sensitive("open")`, cty.StringVal("open").WithMarks(cty.NewValueMarks(sdk.Sensitive, Derived{Text: "open"}))},
		"sensitive in a template":   {`"a ${sensitive("b")}"`, cty.StringVal("a b").WithMarks(cty.NewValueMarks(sdk.Sensitive, Derived{Text: "b"}))},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			scope := &Scope{Data: newFakeData(), BaseDir: t.TempDir()}
			got, diags := scope.EvalExpr(parseExpr(t, tc.src), cty.DynamicPseudoType)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if !got.RawEquals(tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
			}
		})
	}
}
