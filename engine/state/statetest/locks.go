package statetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/state"
)

// liveHolder is a holder on this host whose process (the test) is alive.
func liveHolder(t *testing.T, key, run string) state.LockHolder {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return state.LockHolder{Key: key, RunID: run, User: "ada", Host: host, PID: os.Getpid(), StartedAt: base}
}

// deadPID is the PID of a child process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("starting a child process: %v", err)
	}
	return cmd.ProcessState.Pid()
}

func mustLock(t *testing.T, s state.Store, h state.LockHolder) {
	t.Helper()
	if err := s.Lock(t.Context(), h); err != nil {
		t.Fatalf("Lock(%s by %s): %v", h.Key, h.RunID, err)
	}
}

// wantLocked checks that taking h's key fails naming holder.
func wantLocked(t *testing.T, s state.Store, h, holder state.LockHolder) {
	t.Helper()
	err := s.Lock(t.Context(), h)
	var locked *state.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("Lock(%s by %s) = %v, want *LockedError", h.Key, h.RunID, err)
	}
	if diff := cmp.Diff(holder, locked.Holder, cmpOpts); diff != "" {
		t.Errorf("LockedError.Holder (-want +got):\n%s", diff)
	}
}

func wantLocks(t *testing.T, s state.Store, want ...state.LockHolder) {
	t.Helper()
	got, err := s.Locks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })
	sort.Slice(got, func(i, j int) bool { return got[i].Key < got[j].Key })
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Locks (-want +got):\n%s", diff)
	}
}

func wantStatus(t *testing.T, s state.Store, run string, want state.Status) {
	t.Helper()
	if got := mustGet(t, s, run).Status; got != want {
		t.Errorf("run %s has status %q, want %q", run, got, want)
	}
}

func (st *suite) testLock(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("r1", base), newRun("r2", base), newRun("r3", base))
	h1, h2, h3 := liveHolder(t, "prod", "r1"), liveHolder(t, "prod", "r2"), liveHolder(t, "staging", "r3")
	h2.User = "grace"

	mustLock(t, s, h1)
	mustLock(t, s, h1) // the holder locking again is fine
	wantLocked(t, s, h2, h1)
	if got := (&state.LockedError{Holder: h1}).Error(); got == "" {
		t.Error("LockedError has no message")
	}
	mustLock(t, s, h3) // another key is independent
	wantLocks(t, s, h1, h3)

	if err := s.Unlock(ctx, "prod", "r2"); err != nil {
		t.Errorf("Unlock by a non-holder = %v, want nil (a no-op)", err)
	}
	if err := s.Unlock(ctx, "nokey", "r2"); err != nil {
		t.Errorf("Unlock of a free key = %v, want nil (a no-op)", err)
	}
	wantLocked(t, s, h2, h1)

	if err := s.Unlock(ctx, "prod", "r1"); err != nil {
		t.Fatalf("Unlock by the holder: %v", err)
	}
	mustLock(t, s, h2)
	wantLocks(t, s, h2, h3)
	wantStatus(t, s, "r1", state.StatusRunning) // unlocking does not touch runs
}

func (st *suite) testLockTakeOver(t *testing.T, s state.Store) {
	mustCreate(t, s, newRun("dead", base), newRun("next", base), newRun("done", base))
	dead := liveHolder(t, "prod", "dead")
	dead.PID = deadPID(t)
	mustLock(t, s, dead)
	next := liveHolder(t, "prod", "next")
	mustLock(t, s, next)
	wantLocks(t, s, next)
	wantStatus(t, s, "dead", state.StatusAbandoned)
	wantStatus(t, s, "next", state.StatusRunning)

	// A dead holder whose run finished keeps its status.
	if err := s.FinishRun(t.Context(), "done", state.StatusOK, "", nil, base); err != nil {
		t.Fatal(err)
	}
	done := liveHolder(t, "staging", "done")
	done.PID = dead.PID
	mustLock(t, s, done)
	mustLock(t, s, liveHolder(t, "staging", "next"))
	wantStatus(t, s, "done", state.StatusOK)
}

func (st *suite) testLockOtherHost(t *testing.T, s state.Store) {
	mustCreate(t, s, newRun("far", base), newRun("near", base))
	far := liveHolder(t, "prod", "far")
	far.Host += "-elsewhere"
	far.PID = deadPID(t)
	mustLock(t, s, far)
	wantLocked(t, s, liveHolder(t, "prod", "near"), far)
	wantStatus(t, s, "far", state.StatusRunning)
}

func (st *suite) testForceUnlock(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("far", base), newRun("near", base), newRun("ended", base))
	far := liveHolder(t, "prod", "far")
	far.Host += "-elsewhere"
	mustLock(t, s, far)
	farDB := far
	farDB.Key = "db"
	mustLock(t, s, farDB)
	ended := liveHolder(t, "other", "ended")
	mustLock(t, s, ended)
	if err := s.FinishRun(ctx, "ended", state.StatusFailed, "boom", nil, base); err != nil {
		t.Fatal(err)
	}

	if err := s.ForceUnlock(ctx, "far"); err != nil {
		t.Fatalf("ForceUnlock: %v", err)
	}
	wantLocks(t, s, ended)
	wantStatus(t, s, "far", state.StatusAbandoned)
	mustLock(t, s, liveHolder(t, "prod", "near"))
	if err := s.ForceUnlock(ctx, "far"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("second ForceUnlock = %v, want ErrNotFound", err)
	}
	if err := s.ForceUnlock(ctx, "ended"); err != nil {
		t.Fatalf("ForceUnlock: %v", err)
	}
	wantStatus(t, s, "ended", state.StatusFailed)
}

// lockRace has many goroutines ask for one key at once and checks that
// exactly one wins and the others are told who did.
func lockRace(t *testing.T, s state.Store, runs int) {
	t.Helper()
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { errs[i] = s.Lock(t.Context(), liveHolder(t, "prod", fmt.Sprintf("r%d", i))) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var locked *state.LockedError
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("both r%d and r%d took the lock", winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &locked):
			t.Fatalf("Lock(r%d) = %v, want nil or *LockedError", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody took the lock")
	}
	for i, err := range errs {
		var locked *state.LockedError
		if i != winner && errors.As(err, &locked) && locked.Holder.RunID != fmt.Sprintf("r%d", winner) {
			t.Errorf("r%d was told %s holds the lock; r%d does", i, locked.Holder.RunID, winner)
		}
	}
}

func (st *suite) testConcurrentLock(t *testing.T, s state.Store) {
	const runs = 16
	for i := range runs {
		mustCreate(t, s, newRun(fmt.Sprintf("r%d", i), base))
	}
	lockRace(t, s, runs)
}

// testConcurrentTakeOver races for a key whose holder is dead.
func (st *suite) testConcurrentTakeOver(t *testing.T, s state.Store) {
	const runs = 8
	for i := range runs {
		mustCreate(t, s, newRun(fmt.Sprintf("r%d", i), base))
	}
	mustCreate(t, s, newRun("dead", base))
	dead := liveHolder(t, "prod", "dead")
	dead.PID = deadPID(t)
	mustLock(t, s, dead)
	lockRace(t, s, runs)
	wantStatus(t, s, "dead", state.StatusAbandoned)
}

func (st *suite) testReopen(t *testing.T) {
	ctx := t.Context()
	s := st.open(t)
	r := newRun("r1", base)
	mustCreate(t, s, r)
	step := &state.Step{RunID: "r1", Addr: "step.a", Attempt: 1, Status: state.StatusOK, StartedAt: base, EndedAt: base}
	if err := s.PutSteps(ctx, []*state.Step{step}); err != nil {
		t.Fatal(err)
	}
	lines := []state.LogLine{logLine("r1", "step.a", 0), logLine("r1", "step.a", 1)}
	if err := s.AppendLogs(ctx, lines); err != nil {
		t.Fatal(err)
	}
	h := liveHolder(t, "prod", "r1")
	mustLock(t, s, h)

	s = st.reopen(t, s)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if diff := cmp.Diff(r, mustGet(t, s, "r1"), cmpOpts); diff != "" {
		t.Errorf("run after reopen (-want +got):\n%s", diff)
	}
	steps, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*state.Step{step}, steps, cmpOpts); diff != "" {
		t.Errorf("steps after reopen (-want +got):\n%s", diff)
	}
	// Seq keeps increasing across a reopen.
	more := []state.LogLine{logLine("r1", "step.a", 2)}
	if err := s.AppendLogs(ctx, more); err != nil {
		t.Fatal(err)
	}
	got, err := s.Logs(ctx, "r1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(lines, more...), got, cmpOpts); diff != "" {
		t.Errorf("logs after reopen (-want +got):\n%s", diff)
	}
	wantLocks(t, s, h)
}
