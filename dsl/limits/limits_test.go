package limits

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// nest repeats open n times, then inner, then close n times.
func nest(open, inner, close string, n int) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

func TestCheckConfig(t *testing.T) {
	tests := map[string]struct {
		src     string
		summary string // "" when the source is within the limits
	}{
		"brackets":          {"x = " + nest("[", "1", "]", MaxDepth+1), "Nesting too deep"},
		"brackets at limit": {"x = " + nest("[", "1", "]", MaxDepth-1), ""},
		"parentheses":       {"x = " + nest("(", "1", ")", MaxDepth+1), "Nesting too deep"},
		"objects":           {"x = " + nest("{a = ", "1", "}", MaxDepth+1), "Nesting too deep"},
		"blocks":            {nest("a {\n", "", "}\n", MaxDepth+1), "Nesting too deep"},
		"templates":         {"x = " + nest(`"${`, "1", `}"`, MaxDepth), "Nesting too deep"},
		"directives":        {"x = <<EOT\n" + nest("%{ if true }", "x", "%{ endif }", MaxDepth+1) + "\nEOT\n", "Nesting too deep"},
		"sum":               {"x = 1" + strings.Repeat(" + 1", MaxChain+1), "Expression too long"},
		"sum at limit":      {"x = 1" + strings.Repeat(" + 1", MaxChain-1), ""},
		"unary":             {"x = " + strings.Repeat("!", MaxChain+1) + "true", "Expression too long"},
		"conditionals":      {"x = " + strings.Repeat("true ? 1 : ", MaxChain+1) + "2", "Expression too long"},
		"index chain":       {"x = a" + strings.Repeat("[b]", MaxChain+1), "Expression too long"},
		"sum in a list":     {"x = [1" + strings.Repeat(" +\n 1", MaxChain+1) + "]", "Expression too long"},
		"sums in a list":    {"x = [" + strings.Repeat("1 + 1, ", 5*MaxChain) + "]", ""},
		"long list":         {"x = [" + strings.Repeat("[1], ", 5*MaxChain) + "]", ""},
		"many attributes":   {strings.Repeat("x = 1 + 1\n", 5*MaxChain), ""},
		"long template":     {"x = \"" + strings.Repeat("${a}", 5*MaxChain) + "\"", ""},
		"many directives":   {"x = \"" + strings.Repeat("%{ if a }x%{ else }y%{ endif }", 5*MaxChain) + "\"", ""},
		"unbalanced":        {"x = ]]]] ))) }}}", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			diags := CheckConfig([]byte(tc.src), "deep.hcl")
			if tc.summary == "" {
				if diags.HasErrors() {
					t.Fatalf("unexpected: %s", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != tc.summary {
				t.Fatalf("want one %q, got %v", tc.summary, diags)
			}
			if s := diags[0].Subject; s == nil || s.Filename != "deep.hcl" || s.Start.Line < 1 {
				t.Errorf("diagnostic not located: %v", s)
			}
		})
	}
}

// TestWithinLimitsParses checks the limits against what they protect: the
// deepest input they let through parses and evaluates on a small stack.
func TestWithinLimitsParses(t *testing.T) {
	for name, src := range map[string]string{
		"brackets": nest("[", "1", "]", MaxDepth-1),
		"sum":      "1" + strings.Repeat(" + 1", MaxChain-1),
		"mixed":    nest("(", "1"+strings.Repeat(" + 1", MaxChain/2), ")", MaxDepth/2),
	} {
		if diags := CheckExpr([]byte(src), "x", hcl.InitialPos); diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags)
		}
		expr, diags := hclsyntax.ParseExpression([]byte(src), "x", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags)
		}
		if _, diags := expr.Value(nil); diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags)
		}
	}
}

func TestCheckLocatesToken(t *testing.T) {
	src := "a = 1\nb = " + nest("[", "1", "]", MaxDepth+1)
	diags := CheckConfig([]byte(src), "f.hcl")
	if len(diags) != 1 {
		t.Fatalf("got %v", diags)
	}
	if s := diags[0].Subject; s.Start.Line != 2 || s.Start.Column != 5+MaxDepth {
		t.Errorf("at %s, want f.hcl:2:%d", s, 5+MaxDepth)
	}
}
