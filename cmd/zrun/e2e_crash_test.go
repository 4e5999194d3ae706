package main

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/state/boltstore"
)

// crashKills is how many times TestCrashLedgerConsistent kills zrun.
const crashKills = 14

// TestCrashLedgerConsistent kills zrun with SIGKILL at random moments of a
// run of about thirty quick steps. After every kill the ledger file passes
// its integrity check and every recorded run can be shown; the next run
// takes over the dead holder's lock. At the end every killed run that got
// recorded is abandoned (none is left "running"), a normal run succeeds,
// and no process is left behind.
//
// Even iterations kill 0-400 ms after zrun started (start-up, lock,
// first steps); odd ones 0-400 ms after its run_started event, so that
// kills land while steps and their log lines are being written. Waiting
// for run_started also proves that the run could take the lock the
// previous, killed, zrun held.
func TestCrashLedgerConsistent(t *testing.T) {
	dir := project(t, "crash")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	ledgerFile := filepath.Join(dir, ".zrun", "ledger.db")

	killed := map[string]bool{} // runs whose run_started we saw before the kill
	for i := range crashKills {
		z := startZrun(t, dir, "workflow", "many", "--output", "json")
		delay := time.Duration(rng.IntN(401)) * time.Millisecond
		from := "start"
		if i%2 == 1 {
			from = "run_started"
			z.waitEvent("run_started", "")
		}
		exited := false
		select {
		case <-z.done:
			exited = true
		case <-time.After(delay):
		}
		if !exited {
			if err := z.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-z.done
		}
		id := startedRunID(t, z.stdout.String())
		t.Logf("kill %d: %s after %s, run %q, exited by itself: %v", i+1, delay, from, id, exited)
		if exited && z.code != 0 {
			t.Fatalf("kill %d: zrun exited %d before it was killed\n%s", i+1, z.code, z.stderr)
		}
		if strings.Contains(z.stderr.String(), "locked") {
			t.Fatalf("kill %d: the previous run's lock was not taken over:\n%s", i+1, z.stderr)
		}
		if id != "" && !exited {
			killed[id] = true
		}
		checkLedgerFile(t, ledgerFile)
		showEveryRun(t, dir)
	}
	if len(killed) < crashKills/2 {
		t.Errorf("only %d of %d killed runs were recorded; the kills should land mid-run", len(killed), crashKills)
	}

	r := zrun(t, dir, nil, "workflow", "many")
	wantCode(t, r, 0)
	wantContains(t, "the final run", r.stdout, "30 ok")
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
