package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// fakePool hands out in-memory targets, one per host, whose "work"
// command takes delay, counts how many hosts work at once, and exits 1 on
// the hosts of fail.
type fakePool struct {
	delay time.Duration
	fail  map[string]bool
	// connectErr makes Target fail for a host, with the config's
	// passphrase in the error (which must come out masked).
	connectErr map[string]bool

	mu      sync.Mutex
	targets map[string]*sdktest.Target
	configs map[string]*targets.Config
	closed  int

	running, maxSeen atomic.Int32
}

func newFakePool() *fakePool {
	return &fakePool{fail: map[string]bool{}, connectErr: map[string]bool{},
		targets: map[string]*sdktest.Target{}, configs: map[string]*targets.Config{}}
}

func (p *fakePool) Target(ctx context.Context, cfg *targets.Config) (sdk.Target, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.configs[cfg.Name] = cfg
	if p.connectErr[cfg.Name] {
		return nil, fmt.Errorf("cannot decrypt the key with passphrase %s", cfg.Passphrase)
	}
	if t, ok := p.targets[cfg.Name]; ok {
		return t, nil
	}
	t := &sdktest.Target{TargetName: cfg.Name, Commands: map[string]func(context.Context, *sdk.Command) (int, error){
		"work": func(ctx context.Context, cmd *sdk.Command) (int, error) {
			n := p.running.Add(1)
			defer p.running.Add(-1)
			for old := p.maxSeen.Load(); n > old && !p.maxSeen.CompareAndSwap(old, n); old = p.maxSeen.Load() {
			}
			select {
			case <-time.After(p.delay):
			case <-ctx.Done():
				return -1, ctx.Err()
			}
			if p.fail[cfg.Name] {
				return 1, nil
			}
			return 0, nil
		},
	}}
	p.targets[cfg.Name] = t
	return t, nil
}

func (p *fakePool) Close() error {
	p.mu.Lock()
	p.closed++
	p.mu.Unlock()
	return nil
}

// withRemote adds mock.remote to m: it runs "work" on the step's target
// and returns the target's name; a non-zero exit fails it.
func withRemote(m *mockPlugins) *mockPlugins {
	m.actions["remote"] = &mockAction{
		schema: &schema.Action{Name: "remote", Outputs: []*schema.Attribute{{Name: "host", Type: cty.String}}},
		RunActionFn: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			res, err := req.Target.Exec(ctx, &sdk.Command{Args: []string{"work"}, Stdout: io.Discard, Stderr: io.Discard})
			if err != nil {
				return nil, err
			}
			if res.ExitCode != 0 {
				return nil, fmt.Errorf("work exited with %d on %s", res.ExitCode, req.Target.Name())
			}
			return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal(req.Target.Name())})}, nil
		},
	}
	return m
}

// hostsEnv declares environment "prod" with n hosts web01..webNN in
// group "web", and more of its body.
func hostsEnv(n int, more string) string {
	var b strings.Builder
	b.WriteString("environment \"prod\" {\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  host \"web%02d\" {\n    address = \"127.0.0.%d\"\n    groups  = [\"web\"]\n  }\n", i, i+1)
	}
	b.WriteString(more + "\n}\n")
	return b.String()
}

// hostsRunner is a runner of workflow src in environment env whose
// hosts are pool's.
func hostsRunner(t *testing.T, pool *fakePool, src, env string) *Runner {
	t.Helper()
	return New(Options{Config: project(t, map[string]string{"workflows/w.hcl": src, "environments/prod.hcl": env}),
		Plugins: withRemote(newMock()), Parallelism: 2, Targets: func() TargetPool { return pool }})
}

// runOnHosts runs workflow w of src in prod (n hosts) with pool.
func runOnHosts(t *testing.T, pool *fakePool, n int, src string) *RunResult {
	t.Helper()
	r := hostsRunner(t, pool, src, hostsEnv(n, ""))
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Env: "prod"})
	if diags.HasErrors() {
		t.Fatalf("run: %s", diags.Error())
	}
	if pool.closed != 1 {
		t.Errorf("pool closed %d times, want once at the run's end", pool.closed)
	}
	return res
}

// hostNames returns web01..webNN.
func hostNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("web%02d", i+1)
	}
	return out
}

// TestFanoutParallelLimit: a step targeting a group of 20 hosts runs once
// on each host's own target, never more than parallel at once (the run's
// parallelism, 2, caps local work only), and its value is a map by host.
func TestFanoutParallelLimit(t *testing.T) {
	pool := newFakePool()
	pool.delay = 20 * time.Millisecond
	res := runOnHosts(t, pool, 20, `
workflow "w" {
  step "x" {
    action   = mock.remote
    target   = "web"
    parallel = 5
  }
  output "hosts" { value = [for h, o in step.x : "${h}=${o.host}"] }
}`)
	if res.Status != events.StatusOK {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	if got := pool.maxSeen.Load(); got != 5 {
		t.Errorf("at most %d hosts worked at once, want 5", got)
	}
	var want []string
	for _, h := range hostNames(20) {
		want = append(want, h+"="+h)
		if sr := res.Steps[fmt.Sprintf("step.x[%q]", h)]; sr == nil || sr.Status != events.StatusOK {
			t.Errorf("%s: %+v", h, sr)
		}
	}
	var got []string
	for _, v := range res.Outputs["hosts"].AsValueSlice() {
		got = append(got, v.AsString())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("step.x by host (-want +got):\n%s", diff)
	}
}

// TestFanoutBatches: rolling batches stop once more hosts failed than the
// step tolerates; the hosts of later batches are not started, each saying
// why, and what ran is reported per host.
func TestFanoutBatches(t *testing.T) {
	for name, tc := range map[string]struct {
		args   string
		fail   []string
		status events.Status // the run's
		// ran are the hosts (by number) that ran; the others must be
		// skipped, not started.
		ran     int
		skipWhy string
	}{
		"one failure stops the rest": {
			args: "batch_size = 5\n    max_failures = 0", fail: []string{"web03"},
			status: events.StatusFailed, ran: 5, skipWhy: "not started: 1 of 20 hosts failed in earlier batches, more than max_failures = 0 allows",
		},
		"by default too": {
			args: `batch_size = "25%"`, fail: []string{"web03"},
			status: events.StatusFailed, ran: 5, skipWhy: "more than the 0 allowed by default",
		},
		"one failure tolerated": {
			args: "batch_size = 5\n    max_failures = 1", fail: []string{"web03"},
			status: events.StatusOK, ran: 20,
		},
		"10% of 20 tolerates 2": {
			args: "batch_size = 5\n    max_fail_percentage = 10", fail: []string{"web03", "web07", "web12"},
			status: events.StatusFailed, ran: 15, skipWhy: "3 of 20 hosts failed in earlier batches, more than the 2 that max_fail_percentage = 10 allows",
		},
		"no batches: every host runs": {
			args: "parallel = 20", fail: []string{"web03", "web07"},
			status: events.StatusFailed, ran: 20,
		},
	} {
		t.Run(name, func(t *testing.T) {
			pool := newFakePool()
			for _, h := range tc.fail {
				pool.fail[h] = true
			}
			res := runOnHosts(t, pool, 20, fmt.Sprintf(`
workflow "w" {
  step "x" {
    action = mock.remote
    target = "web"
    %s
  }
  step "after" {
    action = mock.echo
    value  = length(step.x)
  }
}`, tc.args))
			if res.Status != tc.status {
				t.Fatalf("run %s (%s), want %s", res.Status, res.Error, tc.status)
			}
			for i, h := range hostNames(20) {
				sr := res.Steps[fmt.Sprintf("step.x[%q]", h)]
				want := events.StatusOK
				switch {
				case i >= tc.ran:
					want = events.StatusSkipped
				case pool.fail[h]:
					want = events.StatusFailed
				}
				if sr == nil || sr.Status != want {
					t.Fatalf("%s: %+v, want %s", h, sr, want)
				}
				if want == events.StatusSkipped && !strings.Contains(sr.Error, tc.skipWhy) {
					t.Errorf("%s skipped because %q, want %q", h, sr.Error, tc.skipWhy)
				}
				if want == events.StatusFailed && !strings.Contains(sr.Error, "work exited with 1 on "+h) {
					t.Errorf("%s failed with %q", h, sr.Error)
				}
			}
			if _, ok := pool.targets[hostNames(20)[tc.ran-1]]; !ok {
				t.Errorf("the last host that ran never got its target")
			}
			if tc.ran < 20 {
				if _, ok := pool.targets["web20"]; ok {
					t.Errorf("a host that was not started was connected to")
				}
			}
			after := res.Steps["step.after"].Status
			if (tc.status == events.StatusOK) != (after == events.StatusOK) {
				t.Errorf("step.after %s: dependents run exactly when the step succeeds", after)
			}
		})
	}
}

// TestFanoutWithForEachIsRefused: a for_each step whose target is a
// group is refused before anything runs, naming the environment.
func TestFanoutWithForEachIsRefused(t *testing.T) {
	pool := newFakePool()
	r := hostsRunner(t, pool, `
workflow "w" {
  step "x" {
    action   = mock.remote
    for_each = toset(["a", "b"])
    target   = "web"
  }
}`, hostsEnv(2, ""))
	_, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Env: "prod"})
	if !diags.HasErrors() || diags[0].Summary != "Fan-out with for_each" || !strings.Contains(diags[0].Detail, `group of environment "prod"`) {
		t.Fatalf("got %v, want Fan-out with for_each", diags)
	}
	if len(pool.targets) > 0 {
		t.Error("a refused run connected to hosts")
	}
}

// TestTargetOneHost: a step targeting one host runs on that host's
// target and its value is its outputs, not a map; a local step runs on
// the local target.
func TestTargetOneHost(t *testing.T) {
	pool := newFakePool()
	res := runOnHosts(t, pool, 3, `
workflow "w" {
  step "x" {
    action = mock.remote
    target = "web02"
  }
  step "here" {
    action = mock.echo
    target = "local"
    value  = step.x.host
  }
  output "host" { value = step.here.value }
}`)
	if res.Status != events.StatusOK {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
	if got := res.Outputs["host"].AsString(); got != "web02" {
		t.Errorf("step.x.host = %q, want web02", got)
	}
	if len(pool.targets) != 1 {
		t.Errorf("connected to %d hosts, want 1", len(pool.targets))
	}
}

// TestFanoutEmptyGroup: a group without hosts skips the step, which
// succeeds with an empty value.
func TestFanoutEmptyGroup(t *testing.T) {
	pool := newFakePool()
	r := hostsRunner(t, pool, `
workflow "w" {
  step "x" {
    action = mock.remote
    target = "none"
  }
  output "n" { value = length(step.x) }
}`, hostsEnv(1, `group "none" { hosts = [] }`))
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Env: "prod"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if res.Status != events.StatusOK || res.Steps["step.x"].Status != events.StatusSkipped || !res.Outputs["n"].RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("run %s, step.x %+v, n = %#v", res.Status, res.Steps["step.x"], res.Outputs["n"])
	}
}

// TestFanoutCancel: cancelling a run stops the hosts at work and starts
// no other, in batches or not.
func TestFanoutCancel(t *testing.T) {
	for name, args := range map[string]string{
		"batches":    "parallel = 2\n    batch_size = 2",
		"no batches": "parallel = 2",
		// Failures it tolerates or not, a step cancelled mid-way did not
		// succeed.
		"tolerant": "parallel = 2\n    batch_size = 2\n    max_failures = 10",
	} {
		t.Run(name, func(t *testing.T) {
			pool := newFakePool()
			pool.delay = time.Hour
			ctx, cancel := context.WithCancel(t.Context())
			r := hostsRunner(t, pool, fmt.Sprintf(`
workflow "w" {
  step "x" {
    action = mock.remote
    target = "web"
    %s
  }
}`, args), hostsEnv(6, ""))
			go func() {
				for pool.running.Load() < 2 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			res, diags := r.Run(ctx, RunRequest{Workflow: "w", Env: "prod"})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if res.Status != events.StatusCancelled {
				t.Errorf("run %s, want cancelled", res.Status)
			}
			for _, h := range hostNames(6)[2:] {
				if sr := res.Steps[fmt.Sprintf("step.x[%q]", h)]; sr == nil || sr.Status != events.StatusCancelled || sr.Error != "not started: the run was cancelled" {
					t.Errorf("%s: %+v", h, sr)
				}
			}
			if len(pool.targets) != 2 {
				t.Errorf("connected to %d hosts, want the 2 that started", len(pool.targets))
			}
		})
	}
}

// TestFanoutEachIsTheHost: in a group's step each.key and each.value are
// the host's name, in the run, its validation and its plan.
func TestFanoutEachIsTheHost(t *testing.T) {
	src := `
workflow "w" {
  step "x" {
    action = mock.echo
    target = "web"
    value  = "on ${each.key}/${each.value}"
  }
  output "values" { value = [for h, o in step.x : o.value] }
}`
	pool := newFakePool()
	res := runOnHosts(t, pool, 2, src)
	if got := res.Outputs["values"].GoString(); got != `cty.TupleVal([]cty.Value{cty.StringVal("on web01/web01"), cty.StringVal("on web02/web02")})` {
		t.Errorf("values = %s", got)
	}
	p, diags := hostsRunner(t, pool, src, hostsEnv(2, "")).Plan(t.Context(), RunRequest{Workflow: "w", Env: "prod"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := p.Steps[1].Args["value"]; got != "on web02/web02" {
		t.Errorf("planned value %v", got)
	}
}
