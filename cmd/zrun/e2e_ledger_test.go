package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var runIDRe = regexp.MustCompile(`\d{8}T\d{6}-[0-9a-f]{6}`)

// lastRunID is the newest run id `zrun runs` lists.
func lastRunID(t *testing.T, dir string) string {
	t.Helper()
	r := zrun(t, dir, nil, "runs")
	wantCode(t, r, 0)
	id := runIDRe.FindString(r.stdout)
	if id == "" {
		t.Fatalf("no run in `zrun runs`:\n%s", r.stdout)
	}
	return id
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestLedgerRunsShowLogsResume: a failed run is recorded with its steps and
// output; resume runs only what failed or never ran, feeding recorded
// outputs to the rest, and is recorded as a continuation.
func TestLedgerRunsShowLogsResume(t *testing.T) {
	t.Parallel()
	dir := project(t, "ledger")
	r := zrun(t, dir, nil, "workflow", "flaky")
	wantCode(t, r, 4)
	id := lastRunID(t, dir)

	r = zrun(t, dir, nil, "runs", "--status", "failed", "--workflow", "flaky")
	wantCode(t, r, 0)
	wantContains(t, "runs", r.stdout, id, "flaky", "failed")

	r = zrun(t, dir, nil, "show", id)
	wantCode(t, r, 0)
	wantContains(t, "show", r.stdout, "workflow flaky", "step.first", "ok", "step.second", "failed")

	r = zrun(t, dir, nil, "logs", id, "step.first")
	wantCode(t, r, 0)
	wantContains(t, "logs", r.stdout, "first done")
	if strings.Contains(r.stdout, "got first done") {
		t.Errorf("step filter leaked other steps' lines:\n%s", r.stdout)
	}

	if err := os.WriteFile(filepath.Join(dir, "fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = zrun(t, dir, nil, "resume", id)
	wantCode(t, r, 0)
	if n := countLines(t, filepath.Join(dir, "first.count")); n != 1 {
		t.Errorf("step.first ran %d times, want once (resume must reuse it)", n)
	}
	if n := countLines(t, filepath.Join(dir, "second.count")); n != 2 {
		t.Errorf("step.second ran %d times, want twice", n)
	}
	resumed := lastRunID(t, dir)
	r = zrun(t, dir, nil, "show", resumed)
	wantContains(t, "show of the resumed run", r.stdout, "resumes run "+id, "recorded by the resumed run")

	r = zrun(t, dir, nil, "resume", resumed)
	wantCode(t, r, 3)
	wantContains(t, "resume of a successful run", oneLine(r.stderr), "nothing to resume")
}

// TestLedgerResumeRefusesChangedProject: once a completed step's action
// changed, its recorded outputs cannot feed the rest.
func TestLedgerResumeRefusesChangedProject(t *testing.T) {
	t.Parallel()
	dir := project(t, "ledger")
	wantCode(t, zrun(t, dir, nil, "workflow", "flaky"), 4)
	id := lastRunID(t, dir)
	path := filepath.Join(dir, "workflows", "ledger.hcl")
	src, _ := os.ReadFile(path)
	changed := strings.Replace(string(src), `script = "echo first >> first.count; echo first done"`,
		`command = ["true"]
    expect_exit = [0]`, 1)
	changed = strings.Replace(changed, "action = exec.run\n    command = [\"true\"]", "action = http.request\n    url = \"http://127.0.0.1:9\"", 1)
	if changed == string(src) {
		t.Fatal("fixture edit did not apply")
	}
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	r := zrun(t, dir, nil, "resume", id)
	wantCode(t, r, 3)
	wantContains(t, "stderr", oneLine(r.stderr), "project changed since run "+id, "step.first")
}

// TestLedgerLock: a second run in the same environment fails at once,
// naming the holder; --lock-wait waits; a lock left by a killed zrun is
// taken over and its run marked abandoned.
func TestLedgerLock(t *testing.T) {
	t.Parallel()
	dir := project(t, "ledger")
	z := startZrun(t, dir, "workflow", "slow", "--output", "json")
	z.waitEvent("step_started", "step.wait")
	holder := lastRunID(t, dir)

	r := zrun(t, dir, nil, "workflow", "flaky")
	wantCode(t, r, 6)
	wantContains(t, "stderr", oneLine(r.stderr), "Environment locked", "locked by run "+holder, "--lock-wait")

	start := time.Now()
	r = zrun(t, dir, nil, "workflow", "flaky", "--lock-wait", "1s")
	wantCode(t, r, 6)
	if d := time.Since(start); d < time.Second {
		t.Errorf("--lock-wait 1s gave up after %s", d)
	}

	// kill -9: no cleanup runs, the lock stays behind with a dead pid.
	if err := z.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-z.done
	r = zrun(t, dir, nil, "workflow", "flaky")
	wantCode(t, r, 4) // it ran (and failed on purpose): the lock was taken over
	r = zrun(t, dir, nil, "runs", "--status", "abandoned")
	wantContains(t, "runs", r.stdout, holder)
}

// TestLedgerUnlockForce releases a lock by hand.
func TestLedgerUnlockForce(t *testing.T) {
	t.Parallel()
	dir := project(t, "ledger")
	z := startZrun(t, dir, "workflow", "slow", "--output", "json")
	z.waitEvent("step_started", "step.wait")
	holder := lastRunID(t, dir)
	wantCode(t, zrun(t, dir, nil, "unlock", holder), 2)
	r := zrun(t, dir, nil, "unlock", holder, "--force")
	wantCode(t, r, 0)
	wantCode(t, zrun(t, dir, nil, "workflow", "flaky"), 4)
}

// TestSecretNeverWritten runs a workflow that prints its secret to stdout
// and stderr, then searches every byte zrun wrote: its output in both
// modes, `show` and `logs`, and the ledger file itself.
func TestSecretNeverWritten(t *testing.T) {
	t.Parallel()
	const secret = "tok-9f8e7d6c5b"
	dir := project(t, "ledger")
	env := []string{"ZRUN_E2E_TOKEN=" + secret}
	var written []string
	for _, args := range [][]string{
		{"workflow", "secretive"},
		{"workflow", "secretive", "--output", "json"},
		{"plan", "secretive"},
	} {
		r := zrun(t, dir, env, args...)
		written = append(written, r.stdout, r.stderr)
	}
	id := lastRunID(t, dir)
	for _, args := range [][]string{{"show", id}, {"logs", id}, {"show", id, "-o", "json"}} {
		r := zrun(t, dir, env, args...)
		written = append(written, r.stdout, r.stderr)
	}
	ledger, err := os.ReadFile(filepath.Join(dir, ".zrun", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	written = append(written, string(ledger))
	all := strings.Join(written, "\n")
	if strings.Contains(all, secret) {
		t.Errorf("the secret appears in what zrun wrote")
	}
	if !strings.Contains(all, "token=(sensitive)") {
		t.Errorf("the masked line is missing; did the step run?\n%s", all[:min(len(all), 2000)])
	}

	r := zrun(t, dir, nil, "workflow", "secretive")
	wantCode(t, r, 3)
	wantContains(t, "missing secret", oneLine(r.stderr), "ZRUN_E2E_TOKEN", "not set")
}
