package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/state/boltstore"
)

// crashKills is how many times TestCrashLedgerConsistent kills zrun.
const crashKills = 14

// crashEvents is how many events a run of the crash project's "many"
// workflow surely emits while step.hold holds it open: all of its 94 but
// step.hold's end and the run's.
const crashEvents = 92

// TestCrashLedgerConsistent kills zrun with SIGKILL at random moments of a
// run of about thirty quick steps. After every kill the ledger file passes
// its integrity check and every recorded run can be shown; the next run
// takes over the dead holder's lock. At the end every killed run that got
// recorded is abandoned (none is left "running"), a normal run succeeds,
// and no process is left behind.
//
// The moments are events, not times, so that a loaded machine changes
// nothing: even iterations kill as soon as zrun started, or right after
// its first or second event (start-up, lock, first steps), odd ones right
// after its k-th event for a random k, while steps and their log lines
// are being written. step.hold keeps the run
// open until the test creates "release", so no run can end before its
// kill. Each odd iteration's run_started also proves that the run could
// take the lock the previous, killed, zrun held.
func TestCrashLedgerConsistent(t *testing.T) {
	dir := project(t, "crash")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	ledgerFile := filepath.Join(dir, ".zrun", "ledger.db")

	killed := map[string]bool{} // runs whose run_started we saw before the kill
	for i := range crashKills {
		z := startZrun(t, dir, "workflow", "many", "--output", "json")
		at := rng.IntN(3) // start-up, the run's record, its first step
		if i%2 == 1 {
			at = 1 + rng.IntN(crashEvents)
		}
		z.waitEvents(at)
		if err := z.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-z.done
		id := startedRunID(t, z.stdout.String())
		t.Logf("kill %d: after event %d, run %q", i+1, at, id)
		if z.code != -1 {
			t.Fatalf("kill %d: zrun exited %d before it was killed\n%s", i+1, z.code, z.stderr)
		}
		if strings.Contains(z.stderr.String(), "locked") {
			t.Fatalf("kill %d: the previous run's lock was not taken over:\n%s", i+1, z.stderr)
		}
		if id != "" {
			killed[id] = true
		}
		if at > 0 && id == "" {
			t.Fatalf("kill %d: run_started was seen, yet not found in zrun's output", i+1)
		}
		checkLedgerFile(t, ledgerFile)
		showEveryRun(t, dir)
	}
	if len(killed) < crashKills/2 {
		t.Errorf("only %d of %d killed runs were recorded; every odd kill lands mid-run", len(killed), crashKills)
	}

	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := zrun(t, dir, nil, "workflow", "many")
	wantCode(t, r, 0)
	wantContains(t, "the final run", r.stdout, "31 ok")
	checkLedgerFile(t, ledgerFile)
	final := lastRunID(t, dir)
	r = zrun(t, dir, nil, "logs", final)
	wantCode(t, r, 0)
	if n := strings.Count(r.stdout, "\n"); n != 30 {
		t.Errorf("the final run has %d log lines, want 30:\n%s", n, r.stdout)
	}

	r = zrun(t, dir, nil, "runs", "--status", "abandoned")
	wantCode(t, r, 0)
	for id := range killed {
		wantContains(t, "runs --status abandoned", r.stdout, id)
	}
	r = zrun(t, dir, nil, "runs", "--status", "running")
	wantCode(t, r, 0)
	if ids := runIDRe.FindAllString(r.stdout, -1); len(ids) > 0 {
		t.Errorf("killed runs still recorded as running after their lock was taken over: %v", ids)
	}
	wantNoLeftovers(t, dir)
}

// waitEvents reads zrun's --output json events until n have arrived.
func (z *running) waitEvents(n int) {
	z.t.Helper()
	for seen := 0; seen < n; {
		select {
		case line := <-z.stdout.lines:
			if json.Valid([]byte(line)) {
				seen++
			}
		case <-z.done:
			z.t.Fatalf("zrun exited with %d after %d of %d events\n%s\n%s", z.code, seen, n, z.stdout, z.stderr)
		case <-time.After(time.Minute):
			z.t.Fatalf("zrun printed %d events in a minute, waiting for %d\n%s", seen, n, z.stdout)
		}
	}
}

// startedRunID is the run id of the run_started event in a --output json
// stdout, "" when zrun died before printing it. A line cut by the kill is
// ignored.
func startedRunID(t *testing.T, stdout string) string {
	t.Helper()
	for line := range strings.Lines(stdout) {
		var e struct {
			Type  string `json:"type"`
			RunID string `json:"run_id"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Type == "run_started" {
			if e.RunID == "" {
				t.Fatalf("run_started without a run id: %s", line)
			}
			return e.RunID
		}
	}
	return ""
}

// checkLedgerFile runs the embedded ledger's integrity check on path.
func checkLedgerFile(t *testing.T, path string) {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("opening the ledger after a kill: %v", err)
	}
	defer s.Close()
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("the ledger is inconsistent after a kill: %v", err)
	}
}

// showEveryRun fails unless `zrun show` works for every run `zrun runs`
// lists.
func showEveryRun(t *testing.T, dir string) {
	t.Helper()
	r := zrun(t, dir, nil, "runs", "--limit", "1000")
	wantCode(t, r, 0)
	for _, id := range runIDRe.FindAllString(r.stdout, -1) {
		r := zrun(t, dir, nil, "show", id)
		wantCode(t, r, 0)
		wantContains(t, "show", r.stdout, "run "+id)
	}
}
