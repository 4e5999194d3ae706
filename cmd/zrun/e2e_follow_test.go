package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// followLines is how many numbered lines step.count of testdata/follow
// prints, one every 100 ms.
const followLines = 20

// TestLogsFollow follows a run from a second zrun process: lines show up
// while the run is still going, the follower exits 0 by itself shortly
// after the run ends, and it has printed every line exactly once, in
// order, exactly as a later `zrun logs` does. Then `zrun logs RUN STEP`
// prints one step's lines only, for a plain step and a for_each instance.
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	dir := project(t, "follow")
	z := startZrun(t, dir, "workflow", "count", "--output", "json")
	z.waitEvent("step_started", "step.count")
	id := lastRunID(t, dir)

	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	follower := zrunCommand(ctx, dir, nil, "-C", dir, "logs", id, "--follow")
	out, errOut := newLineWriter(), newLineWriter()
	follower.Stdout, follower.Stderr = out, errOut
	if err := follower.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = follower.Wait()
	}()

	// Line 1 must arrive while the run still has about two seconds to go.
	first := time.Now()
	for seen := false; !seen; {
		select {
		case line := <-out.lines:
			seen = strings.HasSuffix(line, "step.count | line 1")
		case <-z.done:
			t.Fatalf("the run ended before the follower printed line 1\nfollower:\n%s\nstderr:\n%s", out, errOut)
		case <-followed:
			t.Fatalf("the follower exited %d before the run ended\n%s\n%s", follower.ProcessState.ExitCode(), out, errOut)
		case <-time.After(5 * time.Second):
			t.Fatalf("the follower printed no line 1 in 5s:\n%s\n%s", out, errOut)
		}
	}
	t.Logf("the follower printed line 1 %s after it started", time.Since(first).Round(time.Millisecond))

	if code := z.wait(10 * time.Second); code != 0 {
		t.Fatalf("the run exited %d\n%s", code, z.stderr)
	}
	ended := time.Now()
	select {
	case <-followed:
	case <-time.After(3 * time.Second):
		t.Fatalf("the follower still runs 3s after the run ended:\n%s", out)
	}
	t.Logf("the follower exited %s after the run", time.Since(ended).Round(time.Millisecond))
	if code := follower.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the follower exited %d\n%s", code, errOut)
	}

	got := out.String()
	var counted []string
	for line := range strings.Lines(got) {
		if _, text, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "step.count | "); ok {
			counted = append(counted, text)
		}
	}
	want := make([]string, followLines)
	for i := range want {
		want[i] = fmt.Sprintf("line %d", i+1)
	}
	if strings.Join(counted, "\n") != strings.Join(want, "\n") {
		t.Errorf("the follower printed step.count's lines as\n%q\nwant\n%q", counted, want)
	}
	for _, w := range []string{"step.other | other says hi", `step.each["x"] | each x`, `step.each["y"] | each y`} {
		if n := strings.Count(got, w); n != 1 {
			t.Errorf("the follower printed %q %d times, want once:\n%s", w, n, got)
		}
	}
	r := zrun(t, dir, nil, "logs", id)
	wantCode(t, r, 0)
	if r.stdout != got {
		t.Errorf("following printed\n%s\nbut `zrun logs` afterwards prints\n%s", got, r.stdout)
	}

	r = zrun(t, dir, nil, "logs", id, "step.count")
	wantCode(t, r, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != followLines {
		t.Errorf("`zrun logs %s step.count` printed %d lines, want %d:\n%s", id, len(lines), followLines, r.stdout)
	}
	for i, line := range lines {
		if want := fmt.Sprintf(" line %d", i+1); !strings.HasSuffix(line, want) || strings.Contains(line, "|") {
			t.Errorf("line %d of `zrun logs %s step.count` is %q, want a time and %q", i+1, id, line, want)
		}
	}
	r = zrun(t, dir, nil, "logs", id, `step.each["x"]`)
	wantCode(t, r, 0)
	if n := strings.Count(r.stdout, "\n"); n != 1 || !strings.HasSuffix(r.stdout, " each x\n") {
		t.Errorf("`zrun logs %s step.each[\"x\"]` printed\n%s\nwant the one line of that instance", id, r.stdout)
	}
}
