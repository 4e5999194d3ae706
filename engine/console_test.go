package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// consoleProject has two environments, a workflow with params, and a
// secret whose command leaves a marker file each time it runs.
var consoleProject = map[string]string{
	"zrun.hcl": `
secret "token" {
  command = ["sh", "-c", "echo run >> token-read; echo tok-Console-9f3e2a"]
}
secret "unused" {
  command = ["sh", "-c", "touch unused-read; echo never"]
}`,
	"environments/envs.hcl": `
environment "stage" {
  host_name = "db-stage"
  db        = { port = 5432 }
}
environment "prod" {
  extends   = "stage"
  host_name = "db-prod"
}`,
	"workflows/w.hcl": `
workflow "deploy" {
  param "version" {}
  param "replicas" {
    type    = number
    default = 2
  }
  param "password" {
    type      = string
    default   = "pw-Console-71c0"
    sensitive = true
  }
  step "build" {
    action = mock.echo
    value  = param.version
  }
}
workflow "other" {
  step "x" {
    action = mock.echo
    value  = "x"
  }
}`,
}

func newConsole(t *testing.T, req ConsoleRequest) (*Console, string) {
	t.Helper()
	cfg := project(t, consoleProject)
	c, diags := New(Options{Config: cfg}).Console(t.Context(), req)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return c, cfg.Dir
}

func evalOK(t *testing.T, c *Console, src string) cty.Value {
	t.Helper()
	v, diags := c.Eval(t.Context(), src)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", src, diags.Error())
	}
	return v
}

func TestConsoleScope(t *testing.T) {
	c, _ := newConsole(t, ConsoleRequest{Env: "prod", Workflow: "deploy", Params: map[string]string{"version": "1.4.2", "replicas": "5"}})
	tests := map[string]struct {
		src  string
		want cty.Value
	}{
		"env value":         {`env.host_name`, cty.StringVal("db-prod")},
		"inherited":         {`env.db.port + 1`, cty.NumberIntVal(5433)},
		"param given":       {`param.version`, cty.StringVal("1.4.2")},
		"param typed":       {`param.replicas * 2`, cty.NumberIntVal(10)},
		"function":          {`upper("x")`, cty.StringVal("X")},
		"run env":           {`run.env`, cty.StringVal("prod")},
		"run workflow":      {`run.workflow`, cty.StringVal("deploy")},
		"run id is unknown": {`run.id`, cty.UnknownVal(cty.String)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := evalOK(t, c, tt.src)
			if !got.RawEquals(tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

func TestConsoleParamDefaultsAndMissing(t *testing.T) {
	cfg := project(t, consoleProject)
	c, diags := New(Options{Config: cfg}).Console(t.Context(), ConsoleRequest{Env: "stage", Workflow: "deploy"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, `"version"`) {
		t.Errorf("want one warning about param version, got %v", diags)
	}
	if v := evalOK(t, c, `param.replicas`); !v.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("default: got %#v", v)
	}
	if v := evalOK(t, c, `param.version`); v.IsKnown() {
		t.Errorf("a required param not given should be unknown, got %#v", v)
	}
	if v := evalOK(t, c, `param.password`); !v.HasMark(sensitiveMark) {
		t.Error("a sensitive param is not marked")
	}
	if got := c.Mask("it is pw-Console-71c0"); strings.Contains(got, "pw-Console") {
		t.Errorf("a sensitive param's value is not masked: %q", got)
	}
}

func TestConsoleWorkflowChoice(t *testing.T) {
	cfg := project(t, consoleProject)
	r := New(Options{Config: cfg})
	c, diags := r.Console(t.Context(), ConsoleRequest{Env: "stage"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, diags = c.Eval(t.Context(), "param.version")
	if !diags.HasErrors() || diags[0].Summary != "No workflow selected" || !strings.Contains(diags[0].Detail, "--workflow") {
		t.Errorf("param without a workflow: %v", diags)
	}
	if v := evalOK(t, c, "run.workflow"); v.IsKnown() {
		t.Errorf("run.workflow without a workflow: %#v", v)
	}
	_, diags = r.Console(t.Context(), ConsoleRequest{Env: "stage", Params: map[string]string{"version": "1"}})
	if !HasUsageError(diags) {
		t.Errorf("--param with several workflows and none chosen: %v", diags)
	}
	_, diags = r.Console(t.Context(), ConsoleRequest{Env: "stage", Workflow: "nope"})
	if !diags.HasErrors() || diags[0].Summary != "Unknown workflow" {
		t.Errorf("unknown workflow: %v", diags)
	}
	_, diags = r.Console(t.Context(), ConsoleRequest{Env: "stage", Workflow: "deploy", Params: map[string]string{"version": "1", "replicas": "many"}})
	if !diags.HasErrors() || diags[0].Summary != "Invalid param value" {
		t.Errorf("bad param: %v", diags)
	}
	_, diags = r.Console(t.Context(), ConsoleRequest{})
	if !HasUsageError(diags) {
		t.Errorf("no --env with two environments: %v", diags)
	}

	// The only workflow of a project is the console's without --workflow.
	one := project(t, map[string]string{"workflows/w.hcl": `
workflow "only" {
  param "n" { default = 1 }
}`})
	c, diags = New(Options{Config: one}).Console(t.Context(), ConsoleRequest{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if c.Workflow() != "only" || c.Env() != "default" {
		t.Errorf("workflow %q env %q", c.Workflow(), c.Env())
	}
	if v := evalOK(t, c, "param.n"); !v.RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("param.n = %#v", v)
	}
}

// TestConsoleSecretReadOnUse: a secret's command runs for the first
// expression that uses it, once, and never for one that does not.
func TestConsoleSecretReadOnUse(t *testing.T) {
	c, dir := newConsole(t, ConsoleRequest{Env: "stage", Workflow: "deploy"})
	marker := filepath.Join(dir, "token-read")
	reads := func() int {
		b, err := os.ReadFile(marker)
		if err != nil {
			return 0
		}
		return strings.Count(string(b), "run")
	}
	evalOK(t, c, `upper("no secret here")`)
	if n := reads(); n != 0 {
		t.Fatalf("the secret was read %d times before an expression used it", n)
	}
	for _, src := range []string{`secret.token`, `upper(secret.token)`, `"${secret.token}-y"`, `{a = secret.token}`} {
		v := evalOK(t, c, src)
		if !v.ContainsMarked() {
			t.Errorf("%s is not sensitive: %#v", src, v)
		}
	}
	if n := reads(); n != 1 {
		t.Errorf("the secret was read %d times, want once", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused-read")); err == nil {
		t.Error("a secret no expression used was read")
	}
	for _, s := range []string{"tok-Console-9f3e2a", "TOK-CONSOLE-9F3E2A"} {
		if got := c.Mask("x " + s + " y"); strings.Contains(got, s) {
			t.Errorf("Mask leaves %q: %q", s, got)
		}
	}
}

func TestConsoleSecretErrors(t *testing.T) {
	c, _ := newConsole(t, ConsoleRequest{Env: "stage", Workflow: "deploy"})
	_, diags := c.Eval(t.Context(), "secret.tokn")
	if !diags.HasErrors() || diags[0].Summary != "Reference to undeclared secret" || !strings.Contains(diags[0].Detail, `"token"`) {
		t.Errorf("undeclared secret: %v", diags)
	}
	evalOK(t, c, "secret.token")
	// A function's error on a secret never quotes it.
	_, diags = c.Eval(t.Context(), "tonumber(secret.token)")
	if !diags.HasErrors() || strings.Contains(diags.Error(), "Console-9f3e") {
		t.Errorf("tonumber(secret): %v", diags)
	}
}

func TestConsoleErrors(t *testing.T) {
	c, _ := newConsole(t, ConsoleRequest{Env: "stage", Workflow: "deploy"})
	tests := map[string]struct {
		src     string
		summary string
		col     int // of the diagnostic's subject
	}{
		"step":      {`step.build.value`, "Reference to a step outside a run", 1},
		"each":      {`each.key`, "Reference to each outside for_each", 1},
		"syntax":    {`upper("x"`, "Unterminated function call", 1},
		"env":       {`"a-${env.nope}"`, "Reference to undefined environment value", 6},
		"function":  {`nosuch(1)`, "Call to unknown function", 1},
		"two exprs": {`1 2`, "Extra characters after expression", 3},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := c.Eval(t.Context(), tt.src)
			if !diags.HasErrors() {
				t.Fatalf("%s: no error", tt.src)
			}
			d := diags[0]
			if d.Summary != tt.summary {
				t.Errorf("summary %q, want %q (%v)", d.Summary, tt.summary, diags)
			}
			if d.Subject == nil || d.Subject.Filename != ConsoleFile || d.Subject.Start.Column != tt.col {
				t.Errorf("subject %v, want %s column %d", d.Subject, ConsoleFile, tt.col)
			}
		})
	}
	// The console goes on after an error.
	evalOK(t, c, "1 + 1")
}
