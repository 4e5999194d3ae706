package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine"
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
	v.Event(events.StepProgress{Time: now, Step: "step.pull", Done: 0, Total: 1000, Message: "download 0 B"})
	v.Event(events.StepProgress{Time: now.Add(2 * time.Second), Step: "step.pull", Done: 250, Total: 1000, Message: "download 250 B at 125 B/s"})
	time.Sleep(250 * time.Millisecond)
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
		"download 250 B at 125 B/s (25%, 6s left)", // progress, with the time left
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

// TestPlainLines: every line of the plain view starts with a timestamp and
// its subject, even for a multi-line error; a retried step says how many
// attempts it took.
func TestPlainLines(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const ts = "2026-12-01T10:00:00.000Z"
	tests := map[string]struct {
		event events.Event
		want  string
	}{
		"retried": {
			events.StepFinished{Time: at, Step: "step.check", Status: events.StatusOK, Attempt: 3, Duration: 4200 * time.Millisecond},
			ts + " step.check ok after 3 attempts in 4.2s",
		},
		"failed after retries": {
			events.StepFinished{Time: at, Step: "step.check", Status: events.StatusFailed, Attempt: 2, Duration: time.Second, Error: "flaky"},
			ts + " step.check failed after 2 attempts in 1s: flaky",
		},
		"one attempt": {
			events.StepFinished{Time: at, Step: "step.a", Status: events.StatusOK, Attempt: 1, Duration: time.Second},
			ts + " step.a ok in 1s",
		},
		"multi-line error": {
			events.StepFinished{Time: at, Step: "step.a", Status: events.StatusFailed, Attempt: 1, Error: "exit status 1:\r\nline two\nline three\n"},
			ts + " step.a failed: exit status 1:\n" + ts + " step.a   line two\n" + ts + " step.a   line three",
		},
		"skipped": {
			events.StepFinished{Time: at, Step: "step.b", Status: events.StatusSkipped, Error: "step.a did not succeed"},
			ts + " step.b skipped: step.a did not succeed",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			v := &plainView{w: &b}
			v.Event(tc.event)
			if diff := cmp.Diff(tc.want+"\n", b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSummary: the summary of a run with nothing to run reads as a
// sentence, and outputs that could not be evaluated are named.
func TestSummary(t *testing.T) {
	tests := map[string]struct {
		res  *engine.RunResult
		want string
	}{
		"empty workflow": {
			&engine.RunResult{ID: "r1", Status: events.StatusOK, Duration: time.Millisecond},
			"\nRun r1 ok in 1ms: nothing to run.\n",
		},
		"an output not evaluated": {
			&engine.RunResult{ID: "r1", Status: events.StatusFailed, Duration: time.Second,
				Steps:   map[string]*engine.StepResult{"step.a": {Status: events.StatusOK}},
				Error:   "output \"all\": Attempt to get attribute from null value\nsecond line",
				Outputs: map[string]cty.Value{"first": cty.StringVal("kept")}, OutputErrors: map[string]string{"all": "Attempt to get attribute from null value"}},
			"\nRun r1 failed in 1s: 1 ok.\nError: output \"all\": Attempt to get attribute from null value\n  second line\n\nOutputs:\n  first = \"kept\"\n  all: not evaluated (see the error above)\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			a := newApp(&b, io.Discard)
			a.printSummary(tc.res)
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLiveStatusLineIndents: the terminal view indents a multi-line
// error's further lines under its step's line.
func TestLiveStatusLineIndents(t *testing.T) {
	got := (&liveView{}).statusLine(events.StepFinished{Step: "step.a", Status: events.StatusFailed, Attempt: 1, Error: "one\ntwo"})
	if want := "✗ step.a failed: one\n    two"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The plain view prints a step's progress at most every 5 s, and when it
// is complete: a long transfer does not flood a CI log.
func TestPlainProgress(t *testing.T) {
	var b strings.Builder
	v := &plainView{w: &b}
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for i := range 11 {
		v.Event(events.StepProgress{Time: at.Add(time.Duration(i) * time.Second), Step: "step.upload", Done: int64(i) * 100, Total: 1000})
	}
	v.Event(events.StepProgress{Time: at.Add(12 * time.Second), Step: "step.fetch", Done: 7, Message: "upload 7 B at 1 B/s"})
	want := "2026-12-01T03:00:00.000Z step.upload | 0 of 1000 (0%)\n" +
		"2026-12-01T03:00:05.000Z step.upload | 500 of 1000 (50%, 5s left)\n" +
		"2026-12-01T03:00:10.000Z step.upload | 1000 of 1000 (100%)\n" +
		"2026-12-01T03:00:12.000Z step.fetch | upload 7 B at 1 B/s\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("plain progress (-want +got):\n%s", diff)
	}
}
