package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// TestSensitiveFunctions: a value passed through sensitive() is masked
// like a secret, in a step's log lines, its outputs and the run's events;
// a sensitive() value inside a larger string is masked on its own too,
// where a plugin prints just that part (mock.tail); and
// nonsensitive() of a hash of a secret is shown as it is.
func TestSensitiveFunctions(t *testing.T) {
	t.Setenv("ZRUN_TEST_FUNCS_SECRET", "s3cret-pw")
	sum := sha256.Sum256([]byte("s3cret-pw"))
	hash := hex.EncodeToString(sum[:])
	m := newMock()
	m.actions["tail"] = tailAction()
	rec := &events.Recorder{}
	r := newRunner(t, m, rec, 1, map[string]string{
		"zrun.hcl": `
secret "db" {
  env = "ZRUN_TEST_FUNCS_SECRET"
}`,
		"workflows/w.hcl": `
workflow "w" {
  step "hidden" {
    action = mock.echo
    value  = sensitive("hidden-by-function")
  }
  step "inside" {
    action = mock.tail
    value  = "token=${sensitive("hidden-in-a-string")}"
  }
  step "hash" {
    action = mock.echo
    value  = nonsensitive(sha256(secret.db))
  }
  output "hidden" { value = step.hidden.value }
  output "hash"   { value = step.hash.value }
  output "was"    { value = issensitive(step.hidden.value) }
}`})
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if res.Status != events.StatusOK {
		t.Fatalf("%s: %s", res.Status, res.Error)
	}
	if !res.Outputs["hidden"].HasMark(sensitiveMark) {
		t.Error("the output of sensitive() is not sensitive")
	}
	if res.Outputs["hash"].IsMarked() || res.Outputs["hash"].AsString() != hash {
		t.Errorf("the nonsensitive hash output is %#v, want %q unmarked", res.Outputs["hash"], hash)
	}
	if was := res.Outputs["was"]; was.IsMarked() || !was.True() {
		t.Errorf("issensitive(step.hidden.value) = %#v", was)
	}
	shown := false
	for _, e := range rec.Events() {
		b, _ := events.Marshal(e)
		for _, s := range []string{"hidden-by-function", "hidden-in-a-string", "s3cret-pw"} {
			if strings.Contains(string(b), s) {
				t.Errorf("%q shown in event %s", s, b)
			}
		}
		shown = shown || strings.Contains(string(b), "echo "+hash)
	}
	if !shown {
		t.Errorf("no event shows the step's log line with the hash %s", hash)
	}
}

// TestNonsensitiveOfPlainValueFails: nonsensitive() on a value that is not
// sensitive is an error before anything runs, as in Terraform.
func TestNonsensitiveOfPlainValueFails(t *testing.T) {
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 1, map[string]string{
		"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = nonsensitive("plain")
  }
}`})
	_, diags := r.Run(t.Context(), RunRequest{Workflow: "w"})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "not sensitive") {
		t.Errorf("diagnostics %v, want one saying the value is not sensitive", diags)
	}
	if n := m.actions["echo"].Calls.Load(); n != 0 {
		t.Errorf("echo ran %d times", n)
	}
}

// tailAction is mock.tail: it logs what follows the first "=" of its
// value, as a plugin that prints a part of an argument.
func tailAction() *mockAction {
	return &mockAction{
		schema: &schema.Action{Name: "tail", Args: []*schema.Attribute{{Name: "value", Type: cty.String}}},
		RunActionFn: func(_ context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			args, _ := req.Args.UnmarkDeep()
			_, tail, _ := strings.Cut(args.GetAttr("value").AsString(), "=")
			req.UI.Logf("tail %s", tail)
			return &sdk.RunResponse{Outputs: cty.EmptyObjectVal}, nil
		},
	}
}
