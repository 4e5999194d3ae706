package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// mockAction is an in-process action whose behaviour a test sets.
type mockAction struct {
	schema      *schema.Action
	RunActionFn func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error)
	Calls       atomic.Int32
}

func (m *mockAction) Schema() *schema.Action { return m.schema }

func (m *mockAction) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	m.Calls.Add(1)
	return m.RunActionFn(ctx, req)
}

// checkedAction is a mockAction that also validates: a value of "bad"
// is an error on the value argument.
type checkedAction struct{ *mockAction }

func (c checkedAction) Validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	if v := req.Args.GetAttr("value"); v.IsKnown() && !v.IsNull() && v.AsString() == "bad" {
		return sdk.Diagnostics{}.Errorf(cty.GetAttrPath("value"), "Bad value", `"bad" is not allowed.`)
	}
	return nil
}

// mockPlugins serves the "mock" plugin in process and counts concurrency.
type mockPlugins struct {
	actions map[string]*mockAction
	// validateCalls and validated count ValidateActions calls and the
	// steps they checked; starts counts Start calls.
	validateCalls, validated, starts atomic.Int32
	// shortAnswers makes ValidateActions answer one call fewer than asked,
	// as a broken plugin client might.
	shortAnswers bool
	// startErr is what Start returns.
	startErr error
	// clientErrs are what Client returns for plugins other than mock.
	clientErrs map[string]error
	running    atomic.Int32
	maxSeen    atomic.Int32
	mu         sync.Mutex
	order      []string
	// delay keeps each echo running a while, so concurrency shows.
	delay time.Duration
}

func (m *mockPlugins) Client(_ context.Context, name string) (sdk.Client, error) {
	if err := m.clientErrs[name]; err != nil {
		return nil, err
	}
	if name != "mock" {
		return nil, fmt.Errorf("%w %q", sdk.ErrUnknownPlugin, name)
	}
	p := &sdk.Plugin{Name: "mock", Version: "1.0.0"}
	for name, a := range m.actions {
		if name == "checked" {
			p.Actions = append(p.Actions, checkedAction{a})
			continue
		}
		p.Actions = append(p.Actions, a)
	}
	return &countingClient{Client: sdk.InProcess(p), m: m}, nil
}

// countingClient counts the validation calls made to the mock plugin.
type countingClient struct {
	sdk.Client
	m *mockPlugins
}

// Start stands for starting the plugin's process ahead of its first call.
func (c *countingClient) Start(context.Context) error {
	c.m.starts.Add(1)
	return c.m.startErr
}

func (c *countingClient) ValidateActions(ctx context.Context, reqs []*sdk.ValidateRequest) ([]sdk.Diagnostics, error) {
	c.m.validateCalls.Add(1)
	c.m.validated.Add(int32(len(reqs)))
	out, err := c.Client.ValidateActions(ctx, reqs)
	if c.m.shortAnswers && len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out, err
}

// newMock returns the mock plugin with actions:
//   - mock.echo: value (string) → value; fail (bool) makes it fail; logs the value.
//   - mock.checked: value (string); its validation refuses "bad".
//   - mock.sleep: blocks until cancelled.
func newMock() *mockPlugins {
	m := &mockPlugins{actions: map[string]*mockAction{}}
	m.actions["echo"] = &mockAction{
		schema: &schema.Action{Name: "echo",
			Args: []*schema.Attribute{
				{Name: "value", Type: cty.String},
				{Name: "fail", Type: cty.Bool},
				{Name: "fail_times", Type: cty.Number},
			},
			Outputs: []*schema.Attribute{{Name: "value", Type: cty.String}},
		},
	}
	var failed sync.Map
	m.actions["echo"].RunActionFn = func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
		n := m.running.Add(1)
		defer m.running.Add(-1)
		for {
			old := m.maxSeen.Load()
			if n <= old || m.maxSeen.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(m.delay)
		args, _ := req.Args.UnmarkDeep()
		v := args.GetAttr("value")
		s := ""
		if !v.IsNull() {
			s = v.AsString()
		}
		m.mu.Lock()
		m.order = append(m.order, req.Info.Step)
		m.mu.Unlock()
		req.UI.Logf("echo %s", s)
		if f := args.GetAttr("fail"); !f.IsNull() && f.True() {
			return nil, errors.New("asked to fail")
		}
		if ft := args.GetAttr("fail_times"); !ft.IsNull() {
			limit, _ := ft.AsBigFloat().Int64()
			cnt, _ := failed.LoadOrStore(req.Info.Step, new(atomic.Int64))
			if cnt.(*atomic.Int64).Add(1) <= limit {
				return nil, errors.New("flaky")
			}
		}
		return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal(s)})}, nil
	}
	m.actions["checked"] = &mockAction{
		schema: &schema.Action{Name: "checked", Args: []*schema.Attribute{{Name: "value", Type: cty.String}}},
		RunActionFn: func(context.Context, *sdk.RunRequest) (*sdk.RunResponse, error) {
			return &sdk.RunResponse{Outputs: cty.EmptyObjectVal}, nil
		},
	}
	m.actions["sleep"] = &mockAction{
		schema: &schema.Action{Name: "sleep"},
		RunActionFn: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	m.actions["panic"] = &mockAction{
		schema: &schema.Action{Name: "panic"},
		RunActionFn: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			panic("boom")
		},
	}
	return m
}

// project writes files into a temporary project folder and loads it.
func project(t *testing.T, files map[string]string) *dsl.Config { return projectB(t, files) }

func projectB(t testing.TB, files map[string]string) *dsl.Config {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := dsl.NewParser().LoadProject(dir)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	return cfg
}

func newRunner(t *testing.T, m *mockPlugins, rec *events.Recorder, parallelism int, files map[string]string) *Runner {
	t.Helper()
	return New(Options{Config: project(t, files), Plugins: m, Sink: rec, Parallelism: parallelism})
}
