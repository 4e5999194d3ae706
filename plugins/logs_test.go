package plugins_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

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
		"swapped": cty.StringVal(""),
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

	// A step's lines, the last one logged just before its call returns,
	// are all its own, in order, by the time the call returns, however
	// they were written: hclog JSON, a plain line with no time, and a
	// write to the os.Stderr go-plugin installs once the plugin serves.
	for i := range 100 {
		args := cty.ObjectVal(map[string]cty.Value{
			"level": cty.StringVal("warn"), "message": cty.StringVal(fmt.Sprintf("hclog %d", i)),
			"before": cty.NumberIntVal(0), "after": cty.NumberIntVal(0),
			"raw": cty.StringVal(fmt.Sprintf("[WARN] raw %d", i)), "swapped": cty.StringVal(fmt.Sprintf("[ERROR] swapped %d", i)),
		})
		got := step(args).Record().Logs
		want := []string{fmt.Sprintf("[WARN] raw %d", i), fmt.Sprintf("[WARN] hclog %d attempt=1", i), fmt.Sprintf("[ERROR] swapped %d", i)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d's lines when its call returned (-want +got):\n%s", i, diff)
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
