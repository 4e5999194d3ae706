package statetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/zrun-dev/zrun/engine/state"
)

// Option changes what Run checks.
type Option func(*suite)

// Reopen makes Run check that data survives Close: reopen closes s and
// returns a new Store over the same data.
func Reopen(reopen func(t *testing.T, s state.Store) state.Store) Option {
	return func(st *suite) { st.reopen = reopen }
}

type suite struct {
	open   func(t *testing.T) state.Store
	reopen func(t *testing.T, s state.Store) state.Store
}

// Run runs the conformance suite against the stores open returns; each
// subtest opens its own, runs in parallel with the others, and closes it
// when done (a Close error fails the test).
func Run(t *testing.T, open func(t *testing.T) state.Store, opts ...Option) {
	t.Helper()
	st := &suite{open: open}
	for _, o := range opts {
		o(st)
	}
	tests := map[string]func(t *testing.T, s state.Store){
		"Runs":                st.testRuns,
		"RunErrors":           st.testRunErrors,
		"ListRuns":            st.testListRuns,
		"Steps":               st.testSteps,
		"PutSteps":            st.testPutSteps,
		"Logs":                st.testLogs,
		"ConcurrentLogs":      st.testConcurrentLogs,
		"Lock":                st.testLock,
		"LockTakeOver":        st.testLockTakeOver,
		"LockOtherHost":       st.testLockOtherHost,
		"ForceUnlock":         st.testForceUnlock,
		"ConcurrentLock":      st.testConcurrentLock,
		"ConcurrentLockTakes": st.testConcurrentTakeOver,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			fn(t, s)
		})
	}
	if st.reopen != nil {
		t.Run("Reopen", func(t *testing.T) {
			t.Parallel()
			st.testReopen(t)
		})
	}
}

// base is a fixed instant, whole microseconds, so every store can round
// trip it exactly.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// cmpOpts compare what a store returns with what went in: instants equal
// whatever their location, empty equal to nil.
var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
}

func newRun(id string, started time.Time) *state.Run {
	return &state.Run{
		ID:         id,
		Workflow:   "deploy",
		Env:        "prod",
		Params:     map[string]string{"version": "1.2.3", "password": "(sensitive)"},
		User:       "ada",
		Host:       "build-1",
		PID:        4242,
		ConfigHash: "sha256:abc",
		LockKey:    "prod",
		Status:     state.StatusRunning,
		StartedAt:  started,
	}
}

func mustCreate(t *testing.T, s state.Store, runs ...*state.Run) {
	t.Helper()
	for _, r := range runs {
		if err := s.CreateRun(t.Context(), r); err != nil {
			t.Fatalf("CreateRun(%s): %v", r.ID, err)
		}
	}
}

func mustGet(t *testing.T, s state.Store, id string) *state.Run {
	t.Helper()
	r, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRun(%s): %v", id, err)
	}
	return r
}

func (st *suite) testRuns(t *testing.T, s state.Store) {
	ctx := t.Context()
	r := newRun("r1", base)
	r.ResumeOf = "r0"
	r.ConfirmedBy = "ada@build-1 (typed the environment's name)"
	r.Commit = "0123456789abcdef0123456789abcdef01234567-dirty"
	mustCreate(t, s, r)
	if diff := cmp.Diff(r, mustGet(t, s, "r1"), cmpOpts); diff != "" {
		t.Errorf("GetRun after CreateRun (-want +got):\n%s", diff)
	}

	end := base.Add(90 * time.Second)
	outputs := []byte(`{"url":"https://example.test"}`)
	if err := s.FinishRun(ctx, "r1", state.StatusFailed, "step.migrate failed", outputs, end); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	want := *r
	want.Status, want.Error, want.Outputs, want.EndedAt = state.StatusFailed, "step.migrate failed", outputs, end
	if diff := cmp.Diff(&want, mustGet(t, s, "r1"), cmpOpts); diff != "" {
		t.Errorf("GetRun after FinishRun (-want +got):\n%s", diff)
	}

	bare := &state.Run{ID: "r2", StartedAt: base}
	mustCreate(t, s, bare)
	if got := mustGet(t, s, "r2").Status; got != state.StatusRunning {
		t.Errorf("a run created without a status has status %q, want %q", got, state.StatusRunning)
	}
}

func (st *suite) testRunErrors(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("r1", base))
	tests := map[string]struct {
		call     func() error
		notFound bool
	}{
		"GetRun unknown":    {func() error { _, err := s.GetRun(ctx, "nope"); return err }, true},
		"FinishRun unknown": {func() error { return s.FinishRun(ctx, "nope", state.StatusOK, "", nil, base) }, true},
		"PutSteps unknown run": {func() error {
			return s.PutSteps(ctx, []*state.Step{{RunID: "nope", Addr: "step.a", Attempt: 1}})
		}, true},
		"AppendLogs unknown run": {func() error {
			return s.AppendLogs(ctx, []state.LogLine{{RunID: "nope", Step: "step.a", Line: "x"}})
		}, true},
		"ForceUnlock without lock": {func() error { return s.ForceUnlock(ctx, "r1") }, true},
		"CreateRun existing":       {func() error { return s.CreateRun(ctx, newRun("r1", base)) }, false},
		"CreateRun empty id":       {func() error { return s.CreateRun(ctx, newRun("", base)) }, false},
		"Lock empty key": {func() error {
			return s.Lock(ctx, state.LockHolder{RunID: "r1", StartedAt: base})
		}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, state.ErrNotFound); got != tc.notFound {
				t.Errorf("errors.Is(%q, ErrNotFound) = %t, want %t", err, got, tc.notFound)
			}
		})
	}
}

func (st *suite) testListRuns(t *testing.T, s state.Store) {
	ctx := t.Context()
	runs := []*state.Run{
		newRun("a", base),
		newRun("b", base.Add(1*time.Minute)),
		newRun("c", base.Add(2*time.Minute)),
		newRun("d", base.Add(3*time.Minute)),
	}
	runs[1].Workflow = "backup"
	runs[2].Env = "staging"
	// Created out of time order: the list follows StartedAt.
	mustCreate(t, s, runs[2], runs[0], runs[3], runs[1])
	if err := s.FinishRun(ctx, "d", state.StatusOK, "", nil, base.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		filter state.Filter
		want   []string
	}{
		"all":      {state.Filter{}, []string{"d", "c", "b", "a"}},
		"workflow": {state.Filter{Workflow: "deploy"}, []string{"d", "c", "a"}},
		"env":      {state.Filter{Env: "prod"}, []string{"d", "b", "a"}},
		"status":   {state.Filter{Status: state.StatusRunning}, []string{"c", "b", "a"}},
		"combined": {state.Filter{Workflow: "deploy", Env: "prod", Status: state.StatusRunning}, []string{"a"}},
		"limit":    {state.Filter{Limit: 2}, []string{"d", "c"}},
		"filtered limit": {
			state.Filter{Env: "prod", Limit: 2}, []string{"d", "b"},
		},
		"none": {state.Filter{Workflow: "restore"}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.ListRuns(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if diff := cmp.Diff(tc.want, ids, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListRuns(%+v) ids (-want +got):\n%s", tc.filter, diff)
			}
		})
	}
	got, err := s.ListRuns(ctx, state.Filter{Workflow: "backup"})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListRuns(backup) = %v, %v; want one run", got, err)
	}
	if diff := cmp.Diff(runs[1], got[0], cmpOpts); diff != "" {
		t.Errorf("listed run (-want +got):\n%s", diff)
	}
}

func (st *suite) testSteps(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("r1", base), newRun("r2", base))
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	puts := []*state.Step{
		{RunID: "r1", Addr: "step.build", Action: "shell.exec", Attempt: 1, Status: state.StatusRunning, StartedAt: at(1)},
		{RunID: "r1", Addr: `step.deploy["eu"]`, Action: "ssh.exec", Attempt: 1, Status: state.StatusRunning, StartedAt: at(2)},
		{RunID: "r2", Addr: "step.build", Action: "shell.exec", Attempt: 1, Status: state.StatusRunning, StartedAt: at(2)},
		{RunID: "r1", Addr: "step.build", Action: "shell.exec", Attempt: 1, Status: state.StatusOK, StartedAt: at(1), EndedAt: at(3),
			Outputs: []byte(`{"value":{"id":"x"},"type":["object",{"id":"string"}]}`)},
		{RunID: "r1", Addr: `step.deploy["eu"]`, Action: "ssh.exec", Attempt: 1, Status: state.StatusFailed, Error: "exit 1", StartedAt: at(2), EndedAt: at(4)},
		{RunID: "r1", Addr: `step.deploy["eu"]`, Action: "ssh.exec", Attempt: 2, Status: state.StatusOK, StartedAt: at(5), EndedAt: at(6)},
		{RunID: "r1", Addr: "step.call/step.inner", Action: "shell.exec", Attempt: 1, Status: state.StatusSkipped, StartedAt: at(5)},
	}
	for _, p := range puts {
		if err := s.PutSteps(ctx, []*state.Step{p}); err != nil {
			t.Fatalf("PutSteps(%s %s #%d): %v", p.RunID, p.Addr, p.Attempt, err)
		}
	}
	got, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	// Upserts replace in place; ties in StartedAt keep the order of first
	// record.
	want := []*state.Step{puts[3], puts[4], puts[5], puts[6]}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Steps(r1) (-want +got):\n%s", diff)
	}
	got, err = s.Steps(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*state.Step{puts[2]}, got, cmpOpts); diff != "" {
		t.Errorf("Steps(r2) (-want +got):\n%s", diff)
	}
	if got, err := s.Steps(ctx, "nope"); err != nil || len(got) != 0 {
		t.Errorf("Steps(unknown) = %v, %v; want none", got, err)
	}
}

// testPutSteps: a batch is applied whole (later records of one attempt
// win, as in separate calls) or, when one record is bad, not at all.
func (st *suite) testPutSteps(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("r1", base))
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	batch := []*state.Step{
		{RunID: "r1", Addr: "step.a", Action: "exec.run", Attempt: 1, Status: state.StatusRunning, StartedAt: at(1)},
		{RunID: "r1", Addr: "step.b", Action: "exec.run", Attempt: 1, Status: state.StatusRunning, StartedAt: at(2)},
		{RunID: "r1", Addr: "step.a", Action: "exec.run", Attempt: 1, Status: state.StatusOK, StartedAt: at(1), EndedAt: at(3)},
	}
	if err := s.PutSteps(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*state.Step{batch[2], batch[1]}, got, cmpOpts); diff != "" {
		t.Errorf("Steps (-want +got):\n%s", diff)
	}
	bad := []*state.Step{
		{RunID: "r1", Addr: "step.c", Action: "exec.run", Attempt: 1, Status: state.StatusOK, StartedAt: at(4)},
		{RunID: "nope", Addr: "step.c", Action: "exec.run", Attempt: 1, Status: state.StatusOK, StartedAt: at(4)},
	}
	if err := s.PutSteps(ctx, bad); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("PutSteps with an unknown run: %v, want ErrNotFound", err)
	}
	if got, _ := s.Steps(ctx, "r1"); len(got) != 2 {
		t.Errorf("a failed batch was partly applied: %d steps", len(got))
	}
	if err := s.PutSteps(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func logLine(run, step string, i int) state.LogLine {
	return state.LogLine{
		RunID: run, Step: step, Time: base.Add(time.Duration(i) * time.Millisecond),
		Stream: "stdout", Line: fmt.Sprintf("%s line %d", step, i),
	}
}

func (st *suite) testLogs(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("r1", base), newRun("r2", base))
	batches := [][]state.LogLine{
		{logLine("r1", "step.a", 0), logLine("r1", "step.a", 1), logLine("r1", "step.b", 2)},
		{logLine("r2", "step.a", 3)},
		{logLine("r1", "step.b", 4)},
		{logLine("r1", "step.a", 5), logLine("r2", "step.a", 6)},
	}
	batches[0][2].Stream = "stderr"
	batches[2][0].Line = "" // empty lines are lines too
	var all []state.LogLine
	for _, b := range batches {
		if err := s.AppendLogs(ctx, b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := s.AppendLogs(ctx, nil); err != nil {
		t.Errorf("AppendLogs(nil): %v", err)
	}
	var r1 []state.LogLine
	for _, l := range all {
		if l.Seq == 0 {
			t.Errorf("AppendLogs left Seq 0 on %q", l.Line)
		}
		if l.RunID == "r1" {
			r1 = append(r1, l)
		}
	}
	for i := 1; i < len(r1); i++ {
		if r1[i].Seq <= r1[i-1].Seq {
			t.Errorf("Seq not increasing: %d after %d", r1[i].Seq, r1[i-1].Seq)
		}
	}
	pick := func(lines []state.LogLine, keep func(state.LogLine) bool) []state.LogLine {
		var out []state.LogLine
		for _, l := range lines {
			if keep(l) {
				out = append(out, l)
			}
		}
		return out
	}
	tests := map[string]struct {
		run, step string
		after     int64
		want      []state.LogLine
	}{
		"all":          {"r1", "", 0, r1},
		"after":        {"r1", "", r1[1].Seq, r1[2:]},
		"after last":   {"r1", "", r1[len(r1)-1].Seq, nil},
		"one step":     {"r1", "step.a", 0, pick(r1, func(l state.LogLine) bool { return l.Step == "step.a" })},
		"step after":   {"r1", "step.b", r1[2].Seq, r1[3:4]},
		"other run":    {"r2", "", 0, pick(all, func(l state.LogLine) bool { return l.RunID == "r2" })},
		"unknown step": {"r1", "step.z", 0, nil},
		"unknown run":  {"nope", "", 0, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Logs(ctx, tc.run, tc.step, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
				t.Errorf("Logs(%s, %q, %d) (-want +got):\n%s", tc.run, tc.step, tc.after, diff)
			}
		})
	}
}

func (st *suite) testConcurrentLogs(t *testing.T, s state.Store) {
	ctx := t.Context()
	mustCreate(t, s, newRun("r1", base))
	const writers, calls, perCall = 4, 25, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			step := fmt.Sprintf("step.w%d", w)
			for c := range calls {
				lines := make([]state.LogLine, perCall)
				for i := range lines {
					lines[i] = logLine("r1", step, c*perCall+i)
				}
				if err := s.AppendLogs(ctx, lines); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AppendLogs: %v", err)
	}
	got, err := s.Logs(ctx, "r1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*calls*perCall {
		t.Fatalf("got %d lines, want %d", len(got), writers*calls*perCall)
	}
	next := map[string]int{}
	for i, l := range got {
		if i > 0 && l.Seq <= got[i-1].Seq {
			t.Fatalf("Seq %d follows %d", l.Seq, got[i-1].Seq)
		}
		if want := logLine("r1", l.Step, next[l.Step]).Line; l.Line != want {
			t.Fatalf("line %d is %q, want %q: a writer's lines are out of order", i, l.Line, want)
		}
		next[l.Step]++
	}
}
