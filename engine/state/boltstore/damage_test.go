package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/state"
)

// damageRuns is how many runs the ledger that TestDamagedFile damages holds.
const damageRuns = 40

// writeLedger writes a ledger of damageRuns runs, each with steps and log
// lines, and returns its bytes.
func writeLedger(t *testing.T) []byte {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range damageRuns {
		id := fmt.Sprintf("run%02d", i)
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := s.CreateRun(ctx, &state.Run{ID: id, Workflow: "deploy", Env: "prod", LockKey: "prod", StartedAt: at}); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			st := &state.Step{RunID: id, Addr: fmt.Sprintf("step.s%d", j), Action: "script.run", Attempt: 1, Status: state.StatusOK, StartedAt: at, EndedAt: at.Add(time.Second)}
			if err := s.PutSteps(ctx, []*state.Step{st}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendLogs(ctx, []state.LogLine{{RunID: id, Step: st.Addr, Time: at, Stream: "stdout", Line: fmt.Sprintf("line %d of %s", j, id)}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.FinishRun(ctx, id, state.StatusOK, "", []byte(`{"x":1}`), at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Lock(ctx, state.LockHolder{Key: "staging", RunID: "run00", Host: "elsewhere", PID: 1}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDamagedFile flips a few bytes of a ledger file at random offsets,
// 200 times (a fixed seed), and checks that no call panics or faults, that
// damage is reported as such (state.ErrDamaged) and never as an empty
// success, that the runs still readable are listed, that a salvage keeps
// them all in a sound file, and that a new run can be recorded (salvaging
// the file when a write meets the damage).
func TestDamagedFile(t *testing.T) {
	good := writeLedger(t)
	rng := rand.New(rand.NewPCG(6, 3))
	dir := t.TempDir()
	damagedSeen, salvaged := 0, 0
	for trial := range 200 {
		data := append([]byte(nil), good...)
		flips := 1 + rng.IntN(4)
		for range flips {
			data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
		}
		path := filepath.Join(dir, fmt.Sprintf("t%03d", trial), "ledger.db")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, s := damagedTrial(t, path, trial%2 == 0)
		if d {
			damagedSeen++
		}
		if s {
			salvaged++
		}
	}
	t.Logf("%d of 200 damaged files noticed, %d salvaged by a write", damagedSeen, salvaged)
	if damagedSeen == 0 || salvaged == 0 {
		t.Errorf("the flips should damage some files in ways that reads and writes notice")
	}
}

// damagedTrial reads the damaged file at path, salvages it if asked to and
// if the reads noticed damage, then records a new run in it.
func damagedTrial(t *testing.T, path string, salvage bool) (noticed, salvaged bool) {
	t.Helper()
	ctx := t.Context()
	s := newStore(path)
	s.Timeout = time.Second
	damaged := func(what string, err error) {
		if err == nil {
			return
		}
		if !errors.Is(err, state.ErrDamaged) {
			t.Fatalf("%s: %s: an error that does not say the ledger is damaged: %v", path, what, err)
		}
		noticed = true
	}
	runs, err := s.ListRuns(ctx, state.Filter{Limit: 1000})
	damaged("ListRuns", err)
	if err == nil && len(runs) != damageRuns {
		t.Fatalf("%s: ListRuns lists %d runs of %d and reports no damage", path, len(runs), damageRuns)
	}
	if len(runs) < damageRuns-5 {
		t.Errorf("%s: only %d of %d runs listed: %v", path, len(runs), damageRuns, err)
	}
	for _, r := range runs {
		_, err := s.GetRun(ctx, r.ID)
		damaged("GetRun", err)
		_, err = s.Steps(ctx, r.ID)
		damaged("Steps", err)
		_, err = s.Logs(ctx, r.ID, "", 0)
		damaged("Logs", err)
	}
	_, err = s.Locks(ctx)
	damaged("Locks", err)
	damaged("Check", s.Check(ctx))
	if noticed && salvage {
		salvageTrial(t, s, len(runs))
	}

	// A new run goes on, in the damaged file or in its salvaged copy.
	s.OnSalvage = func(*state.SalvageReport) { salvaged = true }
	id := "new"
	if err := s.CreateRun(ctx, &state.Run{ID: id, StartedAt: time.Now()}); err != nil {
		t.Fatalf("%s: recording a new run: %v", path, err)
	}
	if err := s.PutSteps(ctx, []*state.Step{{RunID: id, Addr: "step.a", Attempt: 1, Status: state.StatusOK}}); err != nil {
		t.Fatalf("%s: recording a step of the new run: %v", path, err)
	}
	if err := s.FinishRun(ctx, id, state.StatusOK, "", nil, time.Now()); err != nil {
		t.Fatalf("%s: finishing the new run: %v", path, err)
	}
	if r, err := s.GetRun(ctx, id); r == nil || r.Status != state.StatusOK {
		t.Fatalf("%s: the new run is not recorded: %v", path, err)
	}
	return noticed, salvaged
}

// salvageTrial salvages a damaged file and checks the new one: sound, and
// listing every run that could be read before.
func salvageTrial(t *testing.T, s *Store, readable int) {
	t.Helper()
	ctx := t.Context()
	rep, err := s.Salvage(ctx)
	if err != nil {
		t.Fatalf("%s: salvage: %v", s.path, err)
	}
	if rep.Runs < readable {
		t.Errorf("%s: salvage kept %d runs; %d were readable", s.path, rep.Runs, readable)
	}
	if _, err := os.Stat(rep.Damaged); err != nil {
		t.Errorf("%s: the damaged file is not kept aside: %v", s.path, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("%s: the salvaged ledger is not sound: %v", s.path, err)
	}
	runs, err := s.ListRuns(ctx, state.Filter{Limit: 1000})
	if err != nil || len(runs) != rep.Runs {
		t.Fatalf("%s: the salvaged ledger lists %d runs of %d: %v", s.path, len(runs), rep.Runs, err)
	}
}

// TestSalvageOnce: two Stores (as two processes would) write at once to
// a file whose meta pages are both destroyed; the file is salvaged once,
// both writes land in the new file, and every run is still there (found
// by the page scan, with no live tree to start from).
func TestSalvageOnce(t *testing.T) {
	ctx := t.Context()
	data := writeLedger(t)
	clear(data[:2*4096])
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var salvages atomic.Int32
	open := func() *Store {
		s := newStore(path)
		s.OnSalvage = func(*state.SalvageReport) { salvages.Add(1) }
		return s
	}
	a, b := open(), open()
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			if err := s.CreateRun(ctx, &state.Run{ID: fmt.Sprintf("new%d", i), StartedAt: time.Now()}); err != nil {
				t.Errorf("writing to a damaged ledger: %v", err)
			}
		})
	}
	wg.Wait()
	aside, _ := filepath.Glob(path + ".damaged-*")
	if len(aside) != 1 || salvages.Load() != 1 {
		t.Errorf("salvaged %d times, %d files kept aside; want once", salvages.Load(), len(aside))
	}
	runs, err := a.ListRuns(ctx, state.Filter{Limit: 1000})
	if err != nil || len(runs) != damageRuns+2 {
		t.Fatalf("after salvage: %d runs, want %d: %v", len(runs), damageRuns+2, err)
	}
	if err := b.Check(ctx); err != nil {
		t.Errorf("the salvaged ledger is not sound: %v", err)
	}
	steps, err := b.Steps(ctx, "run07")
	if err != nil || len(steps) != 3 {
		t.Errorf("run07 has %d steps after salvage, want 3: %v", len(steps), err)
	}
}

// TestDamagedBranchLoop: a branch page that names itself as a child
// would send bbolt round for ever (or into a fatal stack overflow); the
// file is found damaged before bbolt reads it, every run is still listed
// and readable, and a write salvages the file.
func TestDamagedBranchLoop(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if err := s.CreateRun(ctx, &state.Run{ID: fmt.Sprintf("run%03d", i), Workflow: "w", StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	loops := 0
	for id := 2; id < len(data)/4096; id++ {
		p := data[id*4096:]
		if binary.LittleEndian.Uint16(p[8:]) == branchPageFlag {
			binary.LittleEndian.PutUint64(p[pageHeaderSize+8:], uint64(id)) // first child: itself
			loops++
		}
	}
	if loops == 0 {
		t.Fatal("the ledger has no branch page to damage")
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	s = newStore(path)
	runs, err := s.ListRuns(ctx, state.Filter{Limit: 1000})
	if !errors.Is(err, state.ErrDamaged) || len(runs) != n {
		t.Fatalf("ListRuns gives %d runs of %d, and %v", len(runs), n, err)
	}
	for _, id := range []string{"run000", "run199", "run399"} {
		if r, err := s.GetRun(ctx, id); r == nil || !errors.Is(err, state.ErrDamaged) {
			t.Errorf("GetRun(%s) = %v, %v", id, r, err)
		}
	}
	if err := s.CreateRun(ctx, &state.Run{ID: "new", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	runs, err = s.ListRuns(ctx, state.Filter{Limit: 1000})
	if err != nil || len(runs) != n+1 {
		t.Fatalf("after the salvage: %d runs, want %d: %v", len(runs), n+1, err)
	}
}
