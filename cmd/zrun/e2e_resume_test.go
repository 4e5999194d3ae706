package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shownSteps is `zrun show --output json RUN`'s step attempts.
func shownSteps(t *testing.T, dir, id string) []stepView {
	t.Helper()
	r := zrun(t, dir, nil, "show", id, "--output", "json")
	wantCode(t, r, 0)
	var shown struct{ Steps []stepView }
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("zrun show --output json: %v\n%s", err, r.stdout)
	}
	return shown.Steps
}

// TestLedgerRetryAttempts: each attempt of a retried step is recorded with
// its own start, end, status and error; none is left running.
func TestLedgerRetryAttempts(t *testing.T) {
	t.Parallel()
	dir := project(t, "resume")
	wantCode(t, zrun(t, dir, nil, "workflow", "retried"), 0)
	steps := shownSteps(t, dir, lastRunID(t, dir))
	if len(steps) != 3 {
		t.Fatalf("want 3 attempts recorded, got %+v", steps)
	}
	for i, st := range steps {
		want := "failed"
		if i == 2 {
			want = "ok"
		}
		if st.Addr != "step.flaky" || st.Attempt != i+1 || string(st.Status) != want {
			t.Errorf("attempt %d recorded as %+v, want attempt %d %s", i+1, st, i+1, want)
		}
		if st.EndedAt.IsZero() || st.EndedAt.Before(st.StartedAt) {
			t.Errorf("attempt %d has no proper end: %+v", i+1, st)
		}
		if want == "failed" && !strings.Contains(st.Error, "exited with code 1") {
			t.Errorf("attempt %d's error is %q", i+1, st.Error)
		}
		if i > 0 && !st.StartedAt.After(steps[i-1].EndedAt) {
			t.Errorf("attempt %d starts at %s, before attempt %d ended (%s): it carries another attempt's start",
				i+1, st.StartedAt, i, steps[i-1].EndedAt)
		}
	}
}

// TestLedgerResumeAfterKill: a run whose zrun was killed with kill -9 on
// this machine can be resumed at once, without another run taking its
// lock first; the killed run ends up abandoned.
func TestLedgerResumeAfterKill(t *testing.T) {
	t.Parallel()
	dir := project(t, "resume")
	z := startZrun(t, dir, "workflow", "killable", "--output", "json")
	z.waitEvent("step_started", "step.wait")
	id := lastRunID(t, dir)
	// The ledger writes in batches: kill once step.first's end is in it.
	recorded := waitFor(10*time.Second, func() bool {
		for _, st := range shownSteps(t, dir, id) {
			if st.Addr == "step.first" && st.Status == "ok" {
				return true
			}
		}
		return false
	})
	if !recorded {
		t.Fatal("step.first's end never reached the ledger")
	}
	if err := z.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-z.done
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := zrun(t, dir, nil, "resume", id)
	wantCode(t, r, 0)
	if n := countLines(t, filepath.Join(dir, "first.count")); n != 1 {
		t.Errorf("step.first ran %d times, want once (resume reuses it)", n)
	}
	r = zrun(t, dir, nil, "runs", "--status", "abandoned")
	wantContains(t, "runs --status abandoned", r.stdout, id)
}

// TestLedgerResumeRunsEndingsAgain: finally steps, and on_failure steps
// when the continuation fails too, run again in every continuation;
// main steps that succeeded do not.
func TestLedgerResumeRunsEndingsAgain(t *testing.T) {
	t.Parallel()
	dir := project(t, "resume")
	count := func(name string) int { return countLines(t, filepath.Join(dir, name+".count")) }
	wantCode(t, zrun(t, dir, nil, "workflow", "ending"), 4)
	first := lastRunID(t, dir)
	wantCode(t, zrun(t, dir, nil, "resume", first), 4)
	second := lastRunID(t, dir)
	if count("notify") != 2 || count("rollback") != 2 {
		t.Errorf("after a failed continuation: finally ran %d times, on_failure %d, want 2 each", count("notify"), count("rollback"))
	}
	if err := os.WriteFile(filepath.Join(dir, "fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, zrun(t, dir, nil, "resume", second), 0)
	if count("notify") != 3 || count("rollback") != 2 {
		t.Errorf("after a successful continuation: finally ran %d times, on_failure %d, want 3 and 2", count("notify"), count("rollback"))
	}
	if count("build") != 1 || count("deploy") != 3 {
		t.Errorf("step.build ran %d times (want 1: resume reuses it), step.deploy %d (want 3)", count("build"), count("deploy"))
	}
}

// TestLedgerLogsUnknownStep: `zrun logs RUN step.nope` is a usage error
// naming the steps there are, not an empty success.
func TestLedgerLogsUnknownStep(t *testing.T) {
	t.Parallel()
	dir := project(t, "resume")
	wantCode(t, zrun(t, dir, nil, "workflow", "retried"), 0)
	id := lastRunID(t, dir)
	r := zrun(t, dir, nil, "logs", id, "step.flakey")
	wantCode(t, r, 2)
	wantContains(t, "stderr", oneLine(r.stderr), "no step step.flakey", "Did you mean step.flaky?")
	r = zrun(t, dir, nil, "logs", id, "step.nope")
	wantCode(t, r, 2)
	wantContains(t, "stderr", oneLine(r.stderr), "no step step.nope", "step.flaky")
	wantCode(t, zrun(t, dir, nil, "logs", id, "step.flaky"), 0)
}

// TestLedgerShowMultilineError: an error of several lines keeps `zrun
// show`'s table whole: its first line in the table, all of it below.
func TestLedgerShowMultilineError(t *testing.T) {
	t.Parallel()
	dir := project(t, "resume")
	wantCode(t, zrun(t, dir, nil, "workflow", "multiline"), 4)
	r := zrun(t, dir, nil, "show", lastRunID(t, dir))
	wantCode(t, r, 0)
	_, table, _ := strings.Cut(r.stdout, "\nsteps:\n")
	table, below, _ := strings.Cut(table, "\n\n")
	if lines := strings.Split(strings.TrimRight(table, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "step.broken") {
		t.Errorf("the steps table is not one row per attempt:\n%s", r.stdout)
	}
	wantContains(t, "below the table", below, "step.broken, attempt 1:", "    second line", "    third line")
}
