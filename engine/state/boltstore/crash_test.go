package boltstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
// "ready" once the ledger is open, then "recorded" after each run it
// finished recording.
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
				err := crashRun(ctx, s, host, id, fmt.Sprintf("key%d", g))
				if err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				if err == nil {
					fmt.Println("recorded")
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
// Each kill comes after the writer recorded one to three runs (then a
// random few milliseconds, to land anywhere in a transaction), so the
// count of runs recorded does not depend on how fast the machine is.
func TestCrashConsistency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	const kills = 20
	for i := range kills {
		killWriter(t, path, 1+rand.IntN(3), time.Duration(rand.IntN(5000))*time.Microsecond)
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
	// Each writer recorded at least one run before it was killed.
	t.Logf("%d runs recorded across %d kills", len(runs), kills)
	if len(runs) < kills {
		t.Errorf("only %d runs recorded across %d kills", len(runs), kills)
	}
}

// killWriter starts a writer and kills it a while (jitter) after it
// recorded runs runs.
func killWriter(t *testing.T, path string, runs int, jitter time.Duration) {
	t.Helper()
	cmd, out := startWriter(t, path)
	for range runs {
		if line, err := out.ReadString('\n'); err != nil || line != "recorded\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("writer stopped before recording %d runs: %q, %v", runs, line, err)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // it must not block on a full pipe
	time.Sleep(jitter)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("writer exited by itself before it was killed")
	}
}

// startWriter starts a process running crashWriter on path and waits for
// it to open the ledger.
func startWriter(t *testing.T, path string) (*exec.Cmd, *bufio.Reader) {
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
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("writer did not start: %q, %v", line, err)
	}
	return cmd, r
}

// TestTwoProcesses reads and writes the ledger while another process
// writes it, and sees that process's runs appear: between two reads it
// waits until the other process says it recorded more runs than the last
// read showed.
func TestTwoProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd, out := startWriter(t, path)
	recorded := make(chan struct{}, 1024)
	go func() {
		for {
			if _, err := out.ReadString('\n'); err != nil {
				close(recorded)
				return
			}
			recorded <- struct{}{}
		}
	}()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seen, total := 0, 0 // the other's runs last read, and how many it said it recorded
	for i := range 10 {
		runs, err := s.ListRuns(ctx, state.Filter{Limit: 1 << 30})
		if err != nil {
			t.Fatalf("reading while another process writes: %v", err)
		}
		others := len(runs) - i // minus this one's own
		if i > 0 && others <= seen {
			t.Errorf("the other process's runs did not grow: %d, then %d", seen, others)
		}
		seen = others
		id := fmt.Sprintf("here%d", i)
		if err := s.CreateRun(ctx, &state.Run{ID: id, StartedAt: time.Now()}); err != nil {
			t.Fatalf("writing while another process writes: %v", err)
		}
		if err := s.AppendLogs(ctx, []state.LogLine{{RunID: id, Line: "x"}}); err != nil {
			t.Fatalf("writing while another process writes: %v", err)
		}
		for ; total <= seen; total++ {
			if _, ok := <-recorded; !ok {
				t.Fatal("the other process stopped writing")
			}
		}
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
