package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/events"
)

// TestLiveView drives the terminal view through a pipe: running steps are
// drawn with their last output line, finished ones leave a permanent line,
// and a failed step keeps the tail of its output.
func TestLiveView(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	v := newLiveView(w, false)
	now := time.Now()
	v.Event(events.RunStarted{Time: now, RunID: "r1", Workflow: "deploy", Env: "prod"})
	v.Event(events.StepStarted{Time: now, Step: "step.pull", Action: "exec.run", Attempt: 1})
	v.Event(events.StepStarted{Time: now, Step: "step.check", Action: "http.check", Attempt: 1})
	v.Event(events.StepLog{Time: now, Step: "step.check", Stream: "log", Line: "gateway not ready, retrying"})
	time.Sleep(250 * time.Millisecond) // at least one redraw tick
	v.Event(events.StepFinished{Time: now, Step: "step.pull", Status: events.StatusOK, Duration: time.Second})
	v.Event(events.StepLog{Time: now, Step: "step.check", Stream: "stderr", Line: "connection refused"})
	v.Event(events.StepFinished{Time: now, Step: "step.check", Status: events.StatusFailed, Error: "not healthy"})
	v.close()
	w.Close()
	got := <-out
	for _, want := range []string{
		"Running deploy in prod (run r1)",
		"step.check   0.", // the live line: name and elapsed seconds
		"gateway not ready, retrying",
		"✓ step.pull ok in 1s",
		"✗ step.check failed: not healthy",
		"    │ connection refused",
		"\x1b[", // the live area is redrawn in place
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	// After close the live area is cleared: the output ends with the
	// permanent lines, not a stale running step.
	if i := strings.LastIndex(got, "step.check failed"); strings.Contains(got[i:], "⠋") {
		t.Errorf("live lines drawn after the last step finished:\n%q", got[i:])
	}
}
