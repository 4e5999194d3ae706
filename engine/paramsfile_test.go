package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/boltstore"
)

const paramsWorkflow = `
workflow "w" {
  param "version" { type = string }
  param "replicas" {
    type    = number
    default = 1
  }
  param "zones" {
    type    = list(string)
    default = []
  }
  param "token" {
    type      = string
    sensitive = true
    default   = ""
  }
  step "s" {
    action = mock.echo
    value  = "${param.version} ${param.replicas} ${join(",", param.zones)}"
  }
  step "t" {
    action = mock.echo
    value  = "token=${param.token}"
  }
  output "out" { value = step.s.value }
}`

// writeParams writes a params file into a fresh folder and returns its path.
func writeParams(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunParamsFiles: files merge in order, each typed by the workflow's
// params, and --param wins over all of them.
func TestRunParamsFiles(t *testing.T) {
	a := writeParams(t, "a.hcl", "version = \"1.0\"\nreplicas = 3\nzones = [\"a\", \"b\"]\n")
	b := writeParams(t, "b.hcl", "version = \"2.0\"\n")
	tests := map[string]struct {
		files []string
		raw   map[string]string
		want  string
	}{
		"one file":            {files: []string{a}, want: "1.0 3 a,b"},
		"later file wins":     {files: []string{a, b}, want: "2.0 3 a,b"},
		"order matters":       {files: []string{b, a}, want: "1.0 3 a,b"},
		"--param wins":        {files: []string{a, b}, raw: map[string]string{"version": "3.0", "replicas": "5"}, want: "3.0 5 a,b"},
		"defaults under them": {files: []string{b}, want: "2.0 1 "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := newRunner(t, newMock(), &events.Recorder{}, 2, map[string]string{"workflows/w.hcl": paramsWorkflow})
			res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", ParamsFiles: tc.files, Params: tc.raw})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := res.Outputs["out"].AsString(); got != tc.want {
				t.Errorf("out = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRunParamsFileErrors: every problem of a params file is reported at
// its line, with nothing run; a sensitive value is never quoted.
func TestRunParamsFileErrors(t *testing.T) {
	tests := map[string]struct {
		src     string
		summary string
		line    int
		detail  string
		onlyOne bool
	}{
		"unknown name":           {src: "version = \"1\"\nreplica = 2\n", summary: "Unknown param", line: 2, detail: `Did you mean "replicas"?`},
		"wrong type":             {src: "version = \"1\"\nreplicas = \"many\"\n", summary: "Invalid param value", line: 2, detail: "number"},
		"sensitive wrong type":   {src: "version = \"1\"\ntoken = [\"hunter2-secret\"]\n", summary: "Invalid param value", line: 2, detail: "not shown"},
		"a reference":            {src: "version = var.x\n", summary: "References not allowed", line: 1},
		"missing required still": {src: "replicas = 2\n", summary: "Missing required param"},
		// The file may hold the value that cannot be read: not also missing.
		"unparsable file":  {src: "version = \"1\" 2\n", summary: "Missing newline after argument", line: 1, onlyOne: true},
		"unreadable value": {src: "version = upper(\"a\")\n", summary: "Function calls not allowed", line: 1, onlyOne: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := newMock()
			r := newRunner(t, m, &events.Recorder{}, 2, map[string]string{"workflows/w.hcl": paramsWorkflow})
			path := writeParams(t, "p.hcl", tc.src)
			_, diags := r.Run(t.Context(), RunRequest{Workflow: "w", ParamsFiles: []string{path}})
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			d := diags[0]
			if d.Summary != tc.summary {
				t.Fatalf("got %v, want %s", diags, tc.summary)
			}
			if tc.line > 0 && (d.Subject == nil || d.Subject.Filename != path || d.Subject.Start.Line != tc.line) {
				t.Errorf("at %v, want %s:%d", d.Subject, path, tc.line)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", d.Detail, tc.detail)
			}
			if tc.onlyOne && len(diags) != 1 {
				t.Errorf("want only %s, got %v", tc.summary, diags)
			}
			if strings.Contains(diags.Error(), "hunter2") {
				t.Errorf("a sensitive value is quoted: %v", diags)
			}
			if n := m.actions["echo"].Calls.Load(); n != 0 {
				t.Errorf("%d steps ran", n)
			}
		})
	}
}

// TestRunParamsFileSensitive: a sensitive param from a file is masked in
// every event and in the plan.
func TestRunParamsFileSensitive(t *testing.T) {
	path := writeParams(t, "p.hcl", "version = \"1\"\ntoken = \"hunter2-secret\"\n")
	rec := &events.Recorder{}
	r := newRunner(t, newMock(), rec, 2, map[string]string{"workflows/w.hcl": paramsWorkflow})
	req := RunRequest{Workflow: "w", ParamsFiles: []string{path}}
	res, diags := r.Run(t.Context(), req)
	if diags.HasErrors() || res.Status != events.StatusOK {
		t.Fatal(diags, res.Status)
	}
	for _, e := range rec.Events() {
		b, _ := events.Marshal(e)
		if strings.Contains(string(b), "hunter2") {
			t.Errorf("the value leaked in event %s", b)
		}
	}
	p, diags := r.Plan(t.Context(), req)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if p.Params["token"] != Redacted || p.Params["version"] != "1" {
		t.Errorf("plan params %v", p.Params)
	}
}

const protectedProject = `
environment "prod" { protected = true }
environment "prod-eu" { extends = "prod" }
environment "stage" {}
workflow "w" {
  step "s" { action = mock.echo }
}`

// TestRunConfirm: a run in a protected environment asks once, after
// validation and before anything runs or is recorded; a refusal stops
// it with nothing run or recorded, and the ledger records who confirmed.
func TestRunConfirm(t *testing.T) {
	tests := map[string]struct {
		env      string
		confirm  ConfirmFunc
		asked    bool
		wantRun  bool
		wantWho  string
		noHook   bool
		badParam bool
	}{
		"not protected":             {env: "stage", confirm: func(context.Context, Confirmation) (string, error) { return "", errors.New("no") }, wantRun: true},
		"confirmed":                 {env: "prod", confirm: func(context.Context, Confirmation) (string, error) { return "--yes", nil }, asked: true, wantRun: true, wantWho: "(--yes)"},
		"inherited":                 {env: "prod-eu", confirm: func(context.Context, Confirmation) (string, error) { return "--yes", nil }, asked: true, wantRun: true, wantWho: "(--yes)"},
		"refused":                   {env: "prod", confirm: func(context.Context, Confirmation) (string, error) { return "", errors.New("Wrong name.") }, asked: true},
		"no hook":                   {env: "prod", noHook: true},
		"invalid config never asks": {env: "prod", confirm: func(context.Context, Confirmation) (string, error) { return "--yes", nil }, badParam: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			store, err := boltstore.Open(filepath.Join(t.TempDir(), "ledger.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			m := newMock()
			r := New(Options{Config: project(t, map[string]string{"zrun.hcl": protectedProject}), Plugins: m, Ledger: store})
			var asked []Confirmation
			req := RunRequest{Workflow: "w", Env: tc.env}
			if !tc.noHook {
				req.Confirm = func(ctx context.Context, c Confirmation) (string, error) {
					asked = append(asked, c)
					if n := m.actions["echo"].Calls.Load(); n != 0 {
						t.Errorf("asked after %d steps ran", n)
					}
					if runs, _ := store.ListRuns(ctx, state0()); len(runs) != 0 {
						t.Errorf("asked after the run was recorded")
					}
					return tc.confirm(ctx, c)
				}
			}
			if tc.badParam {
				req.Params = map[string]string{"nope": "1"}
			}
			res, diags := r.Run(t.Context(), req)
			if tc.asked != (len(asked) == 1) || len(asked) > 1 {
				t.Errorf("asked %d times (%v), want asked %v", len(asked), asked, tc.asked)
			}
			if tc.asked && !cmp.Equal(asked[0], Confirmation{Workflow: "w", Env: tc.env}) {
				t.Errorf("asked %+v", asked[0])
			}
			runs, err := store.ListRuns(t.Context(), state0())
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantRun {
				if !diags.HasErrors() || (!tc.badParam && !HasNotConfirmed(diags)) {
					t.Errorf("diags %v, want a not-confirmed error", diags)
				}
				if n := m.actions["echo"].Calls.Load(); n != 0 || len(runs) != 0 {
					t.Errorf("%d steps ran, %d runs recorded", n, len(runs))
				}
				return
			}
			if diags.HasErrors() || res.Status != events.StatusOK {
				t.Fatal(diags)
			}
			if len(runs) != 1 || !strings.HasSuffix(runs[0].ConfirmedBy, tc.wantWho) || (tc.wantWho != "" && !strings.Contains(runs[0].ConfirmedBy, "@")) {
				t.Errorf("recorded %+v, want ConfirmedBy ending %q", runs, tc.wantWho)
			}
		})
	}
}

func state0() state.Filter { return state.Filter{} }
