package plugins_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// syncBuffer is a strings.Builder safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func logArgs(level, message string, before, after float64, raw string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"level": cty.StringVal(level), "message": cty.StringVal(message),
		"before": cty.NumberFloatVal(before), "after": cty.NumberFloatVal(after), "raw": cty.StringVal(raw),
	})
}

// TestPluginLogs: what a plugin logs (hclog JSON on its stderr) at or
// above the Manager's log level reaches the step that runs, through its
// UI, with its level; with two steps of the plugin running, it goes to
// the run's logger. Below the level it is dropped, and a malformed line
// cannot take the host down.
func TestPluginLogs(t *testing.T) {
	var runLog syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "zrun", Level: hclog.Info, Output: &runLog})
	m := newManager(t, plugins.Options{Builtins: builtins("alpha"), Logger: logger})
	c := mustClient(t, m, "alpha")
	step := func(args cty.Value) *sdktest.UI {
		ui := sdktest.NewUI(nil, sdk.RunInfo{Step: "step.x"})
		resp, err := c.RunAction(t.Context(), "log", &sdk.RunRequest{Args: args, UI: ui})
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Diagnostics.Err(); err != nil {
			t.Fatal(err)
		}
		return ui
	}

	ui := step(logArgs("warn", "disk almost full", 0, 0.3, ""))
	ui2 := step(logArgs("debug", "too fine to keep", 0, 0.3, ""))
	ui3 := step(logArgs("error", "after a bad line", 0, 0.3, `{"@level":"warn","@message":1,"@timestamp":7}`))
	ui4 := step(logArgs("debug", "dropped", 0, 0.3, "2026/12/01 10:00:00 [WARN] from Go's log package"))
	want := [][]string{{"[WARN] disk almost full attempt=1"}, nil, {"[ERROR] after a bad line attempt=1"}, {"[WARN] from Go's log package"}}
	if diff := cmp.Diff(want, [][]string{ui.Record().Logs, ui2.Record().Logs, ui3.Record().Logs, ui4.Record().Logs}); diff != "" {
		t.Errorf("the steps' log lines (-want +got):\n%s", diff)
	}

	// A step's last line, logged just before its call returns, is its
	// own even when it arrives after the next step started. Stderr is not
	// ordered with the call's answer, so a line may reach its step's UI
	// after the call returned: wait for it (within logLinger).
	var last, next *sdktest.UI
	for range 5 {
		last = step(logArgs("warn", "last words", 0, 0, ""))
		next = step(logArgs("warn", "next", 0.2, 0, ""))
		got := func() [][]string { return [][]string{last.Record().Logs, next.Record().Logs} }
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && (len(got()[0]) == 0 || len(got()[1]) == 0); {
			time.Sleep(10 * time.Millisecond)
		}
		if diff := cmp.Diff([][]string{{"[WARN] last words attempt=1"}, {"[WARN] next attempt=1"}}, got()); diff != "" {
			t.Fatalf("back to back steps' lines (-want +got):\n%s", diff)
		}
	}

	// Two steps at once: their lines are the run's, not either step's.
	var wg sync.WaitGroup
	var long, short *sdktest.UI
	wg.Go(func() { long = step(logArgs("info", "long one", 0.3, 0.6, "")) })
	wg.Go(func() { short = step(logArgs("info", "short one", 0.3, 0.3, "")) })
	wg.Wait()
	if got := append(long.Record().Logs, short.Record().Logs...); len(got) != 0 {
		t.Errorf("the steps' lines: %q, want none", got)
	}
	for _, want := range []string{"[INFO]  zrun.alpha: long one attempt=1", "[INFO]  zrun.alpha: short one attempt=1"} {
		if out := runLog.String(); !strings.Contains(out, want) {
			t.Errorf("the run's log lacks %q:\n%s", want, out)
		}
	}
	if out := runLog.String(); strings.Contains(out, "too fine") || strings.Contains(out, "disk almost") {
		t.Errorf("the run's log holds a line it should not:\n%s", out)
	}
}
