package boltstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/state"
)

// crashEnv names the ledger a re-executed test binary writes to until it
// is killed.
const crashEnv = "ZRUN_BOLTSTORE_CRASH_LEDGER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		os.Exit(crashWriter(path))
	}
	os.Exit(m.Run())
}

// crashWriter writes runs, steps, logs and locks from three goroutines
// until it is killed (or, as a safety net, for ten seconds). It prints
// "ready" once the ledger is open.
func crashWriter(path string) int {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, _ := os.Hostname()
	fmt.Println("ready")
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("p%d-g%d-r%d", os.Getpid(), g, i)
				if err := crashRun(ctx, s, host, id, fmt.Sprintf("key%d", g)); err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		})
	}
	wg.Wait()
	return 0
}

func crashRun(ctx context.Context, s *Store, host, id, key string) error {
	if err := s.CreateRun(ctx, &state.Run{ID: id, Workflow: "crash", Env: key, StartedAt: time.Now()}); err != nil {
		return err
	}
	h := state.LockHolder{Key: key, RunID: id, Host: host, PID: os.Getpid(), StartedAt: time.Now()}
	if err := s.Lock(ctx, h); err != nil {
		return err
	}
	for i := range 5 {
		st := &state.Step{RunID: id, Addr: fmt.Sprintf("step.s%d", i), Attempt: 1, Status: state.StatusRunning, StartedAt: time.Now()}
		if err := s.PutSteps(ctx, []*state.Step{st}); err != nil {
			return err
		}
		lines := []state.LogLine{{RunID: id, Step: st.Addr, Line: "one"}, {RunID: id, Step: st.Addr, Line: "two"}}
		if err := s.AppendLogs(ctx, lines); err != nil {
			return err
		}
		st.Status, st.EndedAt = state.StatusOK, time.Now()
		if err := s.PutSteps(ctx, []*state.Step{st}); err != nil {
			return err
		}
	}
	if err := s.Unlock(ctx, key, id); err != nil {
		return err
	}
	return s.FinishRun(ctx, id, state.StatusOK, "", nil, time.Now())
}

// TestCrashConsistency kills a writing process at random moments and
// checks after each kill that the ledger is whole and still writable.
func TestCrashConsistency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	const kills = 20
	for i := range kills {
		killWriter(t, path, time.Duration(rand.IntN(40000))*time.Microsecond)
		checkLedger(t, path, fmt.Sprintf("check%d", i))
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(t.Context(), state.Filter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	// The writers got somewhere before they were killed.
	t.Logf("%d runs recorded across %d kills", len(runs), kills)
	if len(runs) < kills {
		t.Errorf("only %d runs recorded across %d kills", len(runs), kills)
	}
}

func killWriter(t *testing.T, path string, after time.Duration) {
	t.Helper()
	cmd := startWriter(t, path)
	time.Sleep(after)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("writer exited by itself before it was killed")
	}
}

// startWriter starts a process running crashWriter on path and waits for
// it to open the ledger.
func startWriter(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("writer did not start: %q, %v", line, err)
	}
	return cmd
}

// TestTwoProcesses reads and writes the ledger while another process
// writes it, and sees that process's runs appear.
func TestTwoProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd := startWriter(t, path)
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seen := 0
	for i := range 10 {
		runs, err := s.ListRuns(ctx, state.Filter{Limit: 1 << 30})
		if err != nil {
			t.Fatalf("reading while another process writes: %v", err)
		}
		if i > 0 && len(runs) <= seen {
			t.Errorf("the other process's runs did not grow: %d, then %d", seen, len(runs))
		}
		seen = len(runs)
		id := fmt.Sprintf("here%d", i)
		if err := s.CreateRun(ctx, &state.Run{ID: id, StartedAt: time.Now()}); err != nil {
			t.Fatalf("writing while another process writes: %v", err)
		}
		if err := s.AppendLogs(ctx, []state.LogLine{{RunID: id, Line: "x"}}); err != nil {
			t.Fatalf("writing while another process writes: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkLedger opens the ledger left by a killed writer and checks it.
func checkLedger(t *testing.T, path, newRun string) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer s.Close()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("ledger inconsistent after kill: %v", err)
	}
	runs, err := s.ListRuns(ctx, state.Filter{Limit: 1 << 30})
	if err != nil {
		t.Fatalf("listing runs after kill: %v", err)
	}
	for _, r := range runs {
		steps, err := s.Steps(ctx, r.ID)
		if err != nil {
			t.Fatalf("steps of %s: %v", r.ID, err)
		}
		for _, st := range steps {
			if st.RunID != r.ID {
				t.Fatalf("run %s lists a step of run %s", r.ID, st.RunID)
			}
		}
		lines, err := s.Logs(ctx, r.ID, "", 0)
		if err != nil {
			t.Fatalf("logs of %s: %v", r.ID, err)
		}
		for i := 1; i < len(lines); i++ {
			if lines[i].Seq <= lines[i-1].Seq {
				t.Fatalf("run %s: Seq %d after %d", r.ID, lines[i].Seq, lines[i-1].Seq)
			}
		}
	}
	// Still writable, and the dead writer's locks are taken over.
	host, _ := os.Hostname()
	if err := s.CreateRun(ctx, &state.Run{ID: newRun, StartedAt: time.Now()}); err != nil {
		t.Fatalf("writing after kill: %v", err)
	}
	for g := range 3 {
		h := state.LockHolder{Key: fmt.Sprintf("key%d", g), RunID: newRun, Host: host, PID: os.Getpid()}
		if err := s.Lock(ctx, h); err != nil {
			t.Fatalf("locking after kill: %v", err)
		}
	}
	if err := s.ForceUnlock(ctx, newRun); err != nil {
		t.Fatal(err)
	}
}
