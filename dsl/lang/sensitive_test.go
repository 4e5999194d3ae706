package lang

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestSensitiveFunctionErrors calls functions that fail, and whose own
// messages quote their arguments, on a secret and on values derived from
// it: the diagnostics name the function and the argument, never the value
// nor a piece of it. The same calls on plain values keep their messages.
func TestSensitiveFunctionErrors(t *testing.T) {
	tests := map[string]struct {
		src  string
		want string // in the detail
	}{
		"tonumber":            {src: `tonumber(secret.db_password)`, want: "sensitive argument 1 of tonumber"},
		"tobool of upper":     {src: `tobool(upper(secret.db_password))`, want: "sensitive argument 1 of tobool"},
		"tonumber of substr":  {src: `tonumber(substr(secret.db_password, 0, 5))`, want: "sensitive argument 1 of tonumber"},
		"in a template":       {src: `tonumber("x${secret.db_password}")`, want: "sensitive argument 1 of tonumber"},
		"second argument":     {src: `regex("[", secret.db_password)`, want: "of regex, a call with sensitive argument 2"},
		"inside a collection": {src: `tonumber(tolist([secret.db_password])[0])`, want: "sensitive argument 1 of tonumber"},
		"a path":              {src: `file(secret.db_password)`, want: "sensitive argument 1 of file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			scope := &Scope{Data: newFakeData(), BaseDir: t.TempDir()}
			_, diags := scope.EvalExpr(parseExpr(t, tc.src), cty.DynamicPseudoType)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			text := diags.Error()
			for _, part := range []string{"hunter2", "HUNTER2", "hunte"} {
				if strings.Contains(text, part) {
					t.Errorf("the error quotes %q: %s", part, text)
				}
			}
			if !strings.Contains(text, tc.want) {
				t.Errorf("the error %q does not say %q", text, tc.want)
			}
		})
	}
	t.Run("plain values keep their message", func(t *testing.T) {
		scope := &Scope{Data: newFakeData(), BaseDir: t.TempDir()}
		_, diags := scope.EvalExpr(parseExpr(t, `tonumber("hunter2")`), cty.DynamicPseudoType)
		if !strings.Contains(diags.Error(), `cannot convert "hunter2" to number`) {
			t.Errorf("got %s", diags.Error())
		}
	})
	t.Run("calls that succeed mark what they derive", func(t *testing.T) {
		scope := &Scope{Data: newFakeData(), BaseDir: t.TempDir()}
		got, diags := scope.EvalExpr(parseExpr(t, `"x ${upper(substr(secret.db_password, 0, 5))} ${upper("plain")}"`), cty.DynamicPseudoType)
		want := cty.StringVal("x HUNTE PLAIN").WithMarks(cty.NewValueMarks(sensitive, Derived{Text: "hunte"}, Derived{Text: "HUNTE"}))
		if diags.HasErrors() || !got.RawEquals(want) {
			t.Errorf("got %#v, %s; want %#v", got, diags, want)
		}
	})
	t.Run("a collection's strings are each derived", func(t *testing.T) {
		scope := &Scope{Data: newFakeData(), BaseDir: t.TempDir()}
		got, diags := scope.EvalExpr(parseExpr(t, `split("t", secret.db_password)[1]`), cty.DynamicPseudoType)
		want := cty.StringVal("er2").WithMarks(cty.NewValueMarks(sensitive, Derived{Text: "hun"}, Derived{Text: "er2"}))
		if diags.HasErrors() || !got.RawEquals(want) {
			t.Errorf("got %#v, %s; want %#v", got, diags, want)
		}
	})
	t.Run("what a call only moves from plain arguments is not derived", func(t *testing.T) {
		scope := &Scope{Data: newFakeData(), BaseDir: t.TempDir()}
		got, diags := scope.EvalExpr(parseExpr(t, `merge({ user = "zakupai", name = "billing-service" }, { password = secret.db_password })`), cty.DynamicPseudoType)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		_, pvms := got.UnmarkDeepWithPaths()
		var texts []string
		marks := cty.ValueMarks{}
		for _, pvm := range pvms {
			for m := range pvm.Marks {
				marks[m] = struct{}{}
			}
		}
		for m := range marks {
			if d, ok := m.(Derived); ok {
				texts = append(texts, d.Text)
			}
		}
		if len(texts) != 1 || texts[0] != "hunter2" {
			t.Errorf("derived texts %q, want only the secret's", texts)
		}
		if got.GetAttr("user").ContainsMarked() || !got.GetAttr("password").ContainsMarked() {
			t.Errorf("marks moved: %#v", got)
		}
	})
}
