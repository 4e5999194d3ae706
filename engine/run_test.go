package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

func run(t *testing.T, m *mockPlugins, parallelism int, src string, params map[string]string) (*RunResult, *events.Recorder) {
	t.Helper()
	rec := &events.Recorder{}
	r := newRunner(t, m, rec, parallelism, map[string]string{"workflows/w.hcl": src})
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Params: params})
	if diags.HasErrors() {
		t.Fatalf("run: %s", diags.Error())
	}
	return res, rec
}

func statuses(res *RunResult) map[string]events.Status {
	out := map[string]events.Status{}
	for addr, s := range res.Steps {
		out[addr] = s.Status
	}
	return out
}

func TestRunOutputsFlowAlongReferences(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  param "who" { default = "world" }
  step "a" {
    action = mock.echo
    value  = "hello"
  }
  step "b" {
    action = mock.echo
    value  = "${step.a.value} ${param.who} from ${run.workflow}"
  }
  output "greeting" { value = step.b.value }
}`, map[string]string{"who": "zrun"})
	if res.Status != events.StatusOK {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	if got := res.Outputs["greeting"].AsString(); got != "hello zrun from w" {
		t.Errorf("greeting = %q", got)
	}
	if diff := cmp.Diff([]string{"step.a", "step.b"}, m.order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestRunParallelismCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`workflow "w" {`)
	for i := 0; i < 20; i++ {
		b.WriteString("\n  step \"s" + string(rune('a'+i)) + "\" {\n    action = mock.echo\n  }")
	}
	b.WriteString("\n}")
	for name, tc := range map[string]struct{ parallelism, max int32 }{
		"one":  {1, 1},
		"four": {4, 4},
	} {
		t.Run(name, func(t *testing.T) {
			m := newMock()
			m.delay = 5 * time.Millisecond
			res, _ := run(t, m, int(tc.parallelism), b.String(), nil)
			if res.Status != events.StatusOK {
				t.Fatalf("status %s", res.Status)
			}
			if got := m.maxSeen.Load(); got > tc.max {
				t.Errorf("saw %d actions at once, cap %d", got, tc.max)
			}
			if tc.max > 1 && m.maxSeen.Load() < 2 {
				t.Errorf("independent steps never ran concurrently")
			}
		})
	}
}

func TestRunFailureSkipsDependentsAndRunsCleanup(t *testing.T) {
	m := newMock()
	res, rec := run(t, m, 4, `
workflow "w" {
  step "bad" {
    action = mock.echo
    fail   = true
  }
  step "after_bad" {
    action = mock.echo
    value  = step.bad.value
  }
  step "transitive" {
    action     = mock.echo
    depends_on = [step.after_bad]
  }
  step "sibling" {
    action = mock.echo
  }
  on_failure {
    step "rollback" {
      action = mock.echo
      value  = "rollback after ${coalesce(step.bad.value, "nothing")}"
    }
  }
  finally {
    step "notify" {
      action = mock.echo
    }
  }
}`, nil)
	want := map[string]events.Status{
		"step.bad":        events.StatusFailed,
		"step.after_bad":  events.StatusSkipped,
		"step.transitive": events.StatusSkipped,
		"step.sibling":    events.StatusOK,
		"step.rollback":   events.StatusOK,
		"step.notify":     events.StatusOK,
	}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if res.Status != events.StatusFailed || !strings.Contains(res.Error, "asked to fail") {
		t.Errorf("run status %s, error %q", res.Status, res.Error)
	}
	if res.Steps["step.rollback"].Outputs.GetAttr("value").AsString() != "rollback after nothing" {
		t.Errorf("rollback saw %#v", res.Steps["step.rollback"].Outputs)
	}
	skipped := false
	for _, e := range events.Filter[events.StepFinished](rec.Events()) {
		if e.Step == "step.after_bad" && e.Status == events.StatusSkipped && strings.Contains(e.Error, "step.bad") {
			skipped = true
		}
	}
	if !skipped {
		t.Error("no skipped event naming step.bad for step.after_bad")
	}
}

func TestRunRetryWithBackoff(t *testing.T) {
	m := newMock()
	res, rec := run(t, m, 4, `
workflow "w" {
  step "flaky" {
    action     = mock.echo
    fail_times = 2
    retry {
      attempts = 3
      delay    = "1ms"
      backoff  = 2
    }
  }
  step "hopeless" {
    action     = mock.echo
    fail_times = 5
    retry {
      attempts = 2
      delay    = "1ms"
    }
  }
}`, nil)
	if got := res.Steps["step.flaky"]; got.Status != events.StatusOK || got.Attempts != 3 {
		t.Errorf("flaky: %s after %d attempts", got.Status, got.Attempts)
	}
	if got := res.Steps["step.hopeless"]; got.Status != events.StatusFailed || got.Attempts != 2 {
		t.Errorf("hopeless: %s after %d attempts", got.Status, got.Attempts)
	}
	started := 0
	for _, e := range events.Filter[events.StepStarted](rec.Events()) {
		if e.Step == "step.flaky" {
			started++
		}
	}
	if started != 3 {
		t.Errorf("flaky started %d times", started)
	}
}

func TestRetryDelay(t *testing.T) {
	r := &dsl.Retry{Attempts: 5, Delay: dsl.Duration{Duration: time.Second}, Backoff: 2, MaxDelay: &dsl.Duration{Duration: 3 * time.Second}}
	var got []time.Duration
	for n := 1; n <= 4; n++ {
		got = append(got, retryDelay(r, n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
}

func TestRunStepTimeout(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  step "hang" {
    action  = mock.sleep
    timeout = "50ms"
  }
  finally {
    step "cleanup" {
      action = mock.echo
    }
  }
}`, nil)
	hang := res.Steps["step.hang"]
	if hang.Status != events.StatusFailed || !strings.Contains(hang.Error, "timed out after 50ms") {
		t.Errorf("hang: %s %q", hang.Status, hang.Error)
	}
	if res.Steps["step.cleanup"].Status != events.StatusOK {
		t.Error("finally did not run")
	}
}

func TestRunWorkflowTimeout(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  timeout = "50ms"
  step "hang" {
    action = mock.sleep
  }
}`, nil)
	if res.Status != events.StatusFailed || !strings.Contains(res.Error, "timed out after 50ms") {
		t.Errorf("run: %s %q", res.Status, res.Error)
	}
}

func TestRunWhenAndForEach(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  param "enabled" {
    type    = bool
    default = false
  }
  step "off" {
    action = mock.echo
    when   = param.enabled
  }
  step "each" {
    action   = mock.echo
    for_each = { a = "1", b = "2", c = "3" }
    value    = "${each.key}=${each.value}"
  }
  step "set" {
    action   = mock.echo
    for_each = toset(["x", "y"])
    value    = each.value
  }
  output "b" { value = step.each["b"].value }
  output "n" { value = length(step.each) }
}`, nil)
	want := map[string]events.Status{
		"step.off":       events.StatusSkipped,
		`step.each["a"]`: events.StatusOK,
		`step.each["b"]`: events.StatusOK,
		`step.each["c"]`: events.StatusOK,
		`step.set["x"]`:  events.StatusOK,
		`step.set["y"]`:  events.StatusOK,
	}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := res.Outputs["b"].AsString(); got != "b=2" {
		t.Errorf("output b = %q", got)
	}
	if !res.Outputs["n"].RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("output n = %#v", res.Outputs["n"])
	}
}

func TestRunContinueOnError(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  step "optional" {
    action            = mock.echo
    fail              = true
    continue_on_error = true
  }
  step "next" {
    action     = mock.echo
    depends_on = [step.optional]
  }
}`, nil)
	if res.Status != events.StatusOK {
		t.Errorf("run %s: %s", res.Status, res.Error)
	}
	if res.Steps["step.optional"].Status != events.StatusFailed || res.Steps["step.next"].Status != events.StatusOK {
		t.Errorf("statuses %v", statuses(res))
	}
}

func TestRunCallsWorkflow(t *testing.T) {
	m := newMock()
	rec := &events.Recorder{}
	r := newRunner(t, m, rec, 2, map[string]string{"workflows/w.hcl": `
workflow "inner" {
  param "name" { type = string }
  step "say" {
    action = mock.echo
    value  = "hi ${param.name}"
  }
  output "said" { value = step.say.value }
}
workflow "w" {
  step "call" {
    workflow = "inner"
    name     = "bob"
  }
  output "said" { value = step.call.said }
}`})
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if res.Status != events.StatusOK || res.Outputs["said"].AsString() != "hi bob" {
		t.Fatalf("%s %q %#v", res.Status, res.Error, res.Outputs)
	}
	if res.Steps["step.call/step.say"].Status != events.StatusOK {
		t.Errorf("inner step not recorded: %v", statuses(res))
	}
}

func TestRunCancelReachesActionAndFinallyRuns(t *testing.T) {
	m := newMock()
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan struct{})
	m.actions["sleep"].RunActionFn = func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
		cancel()
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	}
	rec := &events.Recorder{}
	r := newRunner(t, m, rec, 2, map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "hang" {
    action = mock.sleep
  }
  step "after" {
    action     = mock.echo
    depends_on = [step.hang]
  }
  finally {
    step "cleanup" {
      action = mock.echo
    }
  }
}`})
	res, diags := r.Run(ctx, RunRequest{Workflow: "w"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("the action never saw the cancel")
	}
	if res.Status != events.StatusCancelled {
		t.Errorf("run status %s", res.Status)
	}
	if res.Steps["step.cleanup"].Status != events.StatusOK {
		t.Errorf("finally step: %v", statuses(res))
	}
	if m.actions["echo"].Calls.Load() != 1 {
		t.Errorf("echo ran %d times, want only the finally step", m.actions["echo"].Calls.Load())
	}
}

func TestRunPluginPanicFailsStepNamingPlugin(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 2, `
workflow "w" {
  step "boom" {
    action = mock.panic
  }
  on_failure {
    step "rollback" {
      action = mock.echo
    }
  }
}`, nil)
	boom := res.Steps["step.boom"]
	if boom.Status != events.StatusFailed || !strings.Contains(boom.Error, `plugin "mock"`) || !strings.Contains(boom.Error, "boom") {
		t.Errorf("boom: %s %q", boom.Status, boom.Error)
	}
	if !res.PluginFailed {
		t.Error("PluginFailed not set")
	}
	if res.Steps["step.rollback"].Status != events.StatusOK {
		t.Error("on_failure did not run")
	}
}

func TestRunSensitiveParamIsMasked(t *testing.T) {
	m := newMock()
	res, rec := run(t, m, 2, `
workflow "w" {
  param "password" {
    type      = string
    sensitive = true
  }
  step "leak" {
    action = mock.echo
    value  = "pw=${param.password}"
    fail   = true
  }
}`, map[string]string{"password": "hunter2"})
	if res.Status != events.StatusFailed {
		t.Fatal(res.Status)
	}
	for _, e := range rec.Events() {
		b, err := events.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "hunter2") {
			t.Errorf("secret leaked in event %s", b)
		}
	}
}

func TestRunSchemaSensitiveArgumentsAndOutputsAreMasked(t *testing.T) {
	m := newMock()
	m.actions["secret"] = &mockAction{
		schema: &schema.Action{Name: "secret",
			Args:    []*schema.Attribute{{Name: "password", Type: cty.String, Sensitive: true}},
			Outputs: []*schema.Attribute{{Name: "token", Type: cty.String, Sensitive: true}},
		},
		RunActionFn: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			pw, _ := req.Args.GetAttr("password").Unmark()
			req.UI.Logf("the password is %s", pw.AsString())
			return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal("tok-" + pw.AsString())})}, nil
		},
	}
	res, rec := run(t, m, 2, `
workflow "w" {
  step "login" {
    action   = mock.secret
    password = "pa55word"
  }
  step "use" {
    action = mock.echo
    value  = step.login.token
  }
  output "token" { value = step.login.token }
}`, nil)
	if res.Status != events.StatusOK {
		t.Fatalf("%s: %s", res.Status, res.Error)
	}
	if !res.Outputs["token"].HasMark(sensitiveMark) {
		t.Error("output derived from a sensitive output is not marked")
	}
	for _, e := range rec.Events() {
		b, _ := events.Marshal(e)
		if strings.Contains(string(b), "pa55word") {
			t.Errorf("secret leaked in event %s", b)
		}
	}
}

func TestRunWhenPerInstance(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  step "deploy" {
    action   = mock.echo
    for_each = { web1 = true, web2 = false }
    when     = each.value
    value    = each.key
  }
  step "none" {
    action   = mock.echo
    for_each = {}
  }
}`, nil)
	want := map[string]events.Status{
		`step.deploy["web1"]`: events.StatusOK,
		`step.deploy["web2"]`: events.StatusSkipped,
		"step.none":           events.StatusSkipped,
	}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestRunSecrets(t *testing.T) {
	t.Setenv("ZRUN_TEST_DB_PASSWORD", "s3cret-pw")
	m := newMock()
	rec := &events.Recorder{}
	r := newRunner(t, m, rec, 2, map[string]string{
		"zrun.hcl": `
secret "db" {
  env = "ZRUN_TEST_DB_PASSWORD"
}
secret "missing" {
  env = "ZRUN_TEST_NOT_SET"
}`,
		"workflows/w.hcl": `
workflow "w" {
  step "use" {
    action = mock.echo
    value  = "postgres://app:${secret.db}@db/app"
  }
  output "echoed" { value = step.use.value }
}
workflow "needs_missing" {
  step "use" {
    action = mock.echo
    value  = secret.missing
  }
}
# Steps that cannot run here need none of their secrets: a when false by
# the params (or a literal), and what such a step calls.
workflow "off_missing" {
  param "with" {
    type    = bool
    default = false
  }
  step "use" {
    when   = param.with
    action = mock.echo
    value  = secret.missing
  }
  step "never" {
    when   = false
    action = mock.echo
    value  = secret.missing
  }
  step "call" {
    when     = param.with
    workflow = "needs_missing"
  }
  step "other" {
    action = mock.echo
    value  = "runs"
  }
}`})
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if res.Status != events.StatusOK {
		t.Fatalf("%s: %s", res.Status, res.Error)
	}
	if !res.Outputs["echoed"].HasMark(sensitiveMark) {
		t.Error("an output built from a secret is not sensitive")
	}
	for _, e := range rec.Events() {
		b, _ := events.Marshal(e)
		if strings.Contains(string(b), "s3cret-pw") {
			t.Errorf("secret leaked in event %s", b)
		}
	}
	calls := m.actions["echo"].Calls.Load()
	_, diags = r.Run(t.Context(), RunRequest{Workflow: "needs_missing"})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "ZRUN_TEST_NOT_SET") {
		t.Errorf("missing secret: %v", diags)
	}
	if m.actions["echo"].Calls.Load() != calls {
		t.Error("a step ran although a secret was missing")
	}
	res, diags = r.Run(t.Context(), RunRequest{Workflow: "off_missing"})
	if diags.HasErrors() || res.Status != events.StatusOK {
		t.Errorf("steps that cannot run asked for their secret: %v %v", diags, res)
	}
	_, diags = r.Run(t.Context(), RunRequest{Workflow: "off_missing", Params: map[string]string{"with": "true"}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "ZRUN_TEST_NOT_SET") {
		t.Errorf("with=true runs step.use and calls needs_missing, which need the missing secret: %v", diags)
	}
}

// TestRunStartsPluginsAhead: a run asks for its plugins' processes as it
// begins, so that their cold starts overlap validation, and waits for
// them before the first step; plan does not.
func TestRunStartsPluginsAhead(t *testing.T) {
	src := `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = "x"
  }
}`
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 1, map[string]string{"workflows/w.hcl": src})
	if _, diags := r.Plan(t.Context(), RunRequest{Workflow: "w"}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if n := m.starts.Load(); n != 0 {
		t.Errorf("plan started %d plugins", n)
	}
	if _, diags := r.Run(t.Context(), RunRequest{Workflow: "w"}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if n := m.starts.Load(); n != 1 {
		t.Errorf("run started the mock plugin %d times, want 1", n)
	}

	// A plugin that cannot start stops the run before any step runs, even
	// when validation did not need it.
	m = newMock()
	m.startErr = errors.New("exec format error")
	r = newRunner(t, m, &events.Recorder{}, 1, map[string]string{"workflows/w.hcl": src})
	_, diags := r.Run(t.Context(), RunRequest{Workflow: "w"})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `Plugin "mock" could not be started, so nothing was run: exec format error`) {
		t.Fatalf("got %v", diags)
	}
	if d := diags[0]; d.Subject == nil || d.Subject.Start.Line != 4 {
		t.Errorf("the diagnostic does not point at the step's action: %v", d.Subject)
	}
	if len(m.order) != 0 {
		t.Errorf("steps ran: %v", m.order)
	}
}
