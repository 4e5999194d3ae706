package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
)

// TestRunOutputsEachOnItsOwn: an output that cannot be evaluated (a for
// over a step with a null instance) is reported with its reason, masked, in
// the result, the run's error and its last event; the other outputs are
// kept.
func TestRunOutputsEachOnItsOwn(t *testing.T) {
	const secret = "s3cr3t-token"
	m := newMock()
	res, rec := run(t, m, 4, `
workflow "w" {
  param "token" {
    sensitive = true
  }
  step "a" {
    action = mock.echo
    value  = "kept"
  }
  step "check" {
    for_each = toset(["good", "bad"])
    action   = mock.echo
    value    = each.key
    fail     = each.key == "bad"
  }
  output "first" { value = step.a.value }
  output "all" { value = [for k, v in step.check : v.value] }
  step "tok" {
    action = mock.echo
    value  = param.token
  }
  output "number" { value = tonumber(step.tok.value) }
  output "last" { value = "${step.a.value} too" }
}`, map[string]string{"token": secret})
	if res.Status != events.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	got := map[string]string{}
	for k, v := range res.Outputs {
		got[k] = v.AsString()
	}
	if diff := cmp.Diff(map[string]string{"first": "kept", "last": "kept too"}, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if len(res.OutputErrors) != 2 || !strings.Contains(res.OutputErrors["all"], "null") || res.OutputErrors["number"] == "" {
		t.Errorf("output errors = %q, want all's (a null instance) and number's", res.OutputErrors)
	}
	finished := events.Filter[events.RunFinished](rec.Events())
	if len(finished) != 1 {
		t.Fatalf("run_finished events: %v", finished)
	}
	for what, s := range map[string]string{"the run's error": res.Error, "run_finished's error": finished[0].Error} {
		for _, want := range []string{"step.check", `output "all": `, `output "number": `} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q: %q", what, want, s)
			}
		}
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the sensitive param: %q", what, s)
		}
	}
	if _, ok := finished[0].Outputs["first"]; !ok {
		t.Errorf("run_finished outputs = %v, want first kept", finished[0].Outputs)
	}
}

// TestRunSkipReason: a skipped step's error says why, once; the status
// already says it was skipped.
func TestRunSkipReason(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  step "bad" {
    action = mock.echo
    fail   = true
  }
  step "after" {
    action = mock.echo
    value  = step.bad.value
  }
  step "none" {
    for_each = {}
    action   = mock.echo
  }
}`, nil)
	for addr, want := range map[string]string{"step.after": "step.bad did not succeed", "step.none": "for_each is empty"} {
		if sr := res.Steps[addr]; sr.Status != events.StatusSkipped || sr.Error != want {
			t.Errorf("%s: %s %q, want skipped %q", addr, sr.Status, sr.Error, want)
		}
	}
}

// TestRunStopsInWords: what a workflow timeout or a cancel stops says why
// in words, never as Go's context errors.
func TestRunStopsInWords(t *testing.T) {
	src := `
workflow "w" {
  %s
  step "hang" {
    action = mock.sleep
  }
  step "after" {
    action     = mock.echo
    depends_on = [step.hang]
  }
}`
	tests := map[string]struct {
		timeout  string
		cancel   bool
		status   events.Status
		runError string
		stopped  string
	}{
		"workflow timeout": {
			timeout:  `timeout = "50ms"`,
			status:   events.StatusFailed,
			runError: `workflow "w" timed out after 50ms (stopped step.hang)`,
			stopped:  `workflow "w" timed out after 50ms`,
		},
		"cancel": {
			cancel:  true,
			status:  events.StatusCancelled,
			stopped: "the run was cancelled",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := newMock()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel {
				m.actions["sleep"].RunActionFn = func(ctx context.Context, _ *sdk.RunRequest) (*sdk.RunResponse, error) {
					cancel()
					<-ctx.Done()
					return nil, ctx.Err()
				}
			}
			rec := &events.Recorder{}
			r := newRunner(t, m, rec, 2, map[string]string{"workflows/w.hcl": strings.Replace(src, "%s", tc.timeout, 1)})
			res, diags := r.Run(ctx, RunRequest{Workflow: "w"})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if res.Status != tc.status || (tc.runError != "" && res.Error != tc.runError) {
				t.Errorf("run: %s %q, want %s %q", res.Status, res.Error, tc.status, tc.runError)
			}
			hang, after := res.Steps["step.hang"], res.Steps["step.after"]
			if !strings.Contains(hang.Error, tc.stopped) {
				t.Errorf("step.hang: %q, want it to say %q", hang.Error, tc.stopped)
			}
			if want := "not started: " + tc.stopped; after.Error != want {
				t.Errorf("step.after: %q, want %q", after.Error, want)
			}
			for _, e := range events.Filter[events.StepFinished](rec.Events()) {
				if strings.Contains(e.Error, "context") {
					t.Errorf("%s says %q", e.Step, e.Error)
				}
			}
			if strings.Contains(res.Error, "context") {
				t.Errorf("run error %q", res.Error)
			}
		})
	}
}

// TestResolveEnvNotChosen: with several environments and none named, the
// command line is at fault, and the diagnostic lists the environments.
func TestResolveEnvNotChosen(t *testing.T) {
	r := newRunner(t, newMock(), &events.Recorder{}, 1, map[string]string{
		"environments/e.hcl": "environment \"dev\" {}\nenvironment \"prod\" {}\n",
	})
	_, diags := r.ResolveEnv("")
	if !diags.HasErrors() || !HasUsageError(diags) || !strings.Contains(diags.Error(), "dev, prod") {
		t.Errorf("diags = %v (usage error: %v)", diags, HasUsageError(diags))
	}
	if _, diags := r.ResolveEnv("nope"); HasUsageError(diags) {
		t.Errorf("an unknown environment is the project's business: %v", diags)
	}
}

// TestCancelledBeforeSteps: a plan or a run cancelled before its steps
// says so, once, without the context errors of the calls it cut short.
func TestCancelledBeforeSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := newRunner(t, newMock(), &events.Recorder{}, 1, map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
  }
  step "b" {
    action = mock.echo
  }
}`})
	_, planDiags := r.Plan(ctx, RunRequest{Workflow: "w"})
	_, runDiags := r.Run(ctx, RunRequest{Workflow: "w"})
	for what, diags := range map[string]hcl.Diagnostics{"plan": planDiags, "run": runDiags} {
		if len(diags) != 1 || diags[0].Summary != "Cancelled" || strings.Contains(diags.Error(), "context") {
			t.Errorf("%s: diags = %v", what, diags)
		}
	}
}
