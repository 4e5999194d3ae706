package local

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// The test binary is a subreaper, as zrun and every plugin process are:
// the escaped descendants of its commands come to it.
func TestMain(m *testing.M) {
	if err := BecomeSubreaper(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// pidsOf reads the pids a script wrote, one a line, into a file.
func pidsOf(t *testing.T, path string, want int) []int {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(path)
		pids = pids[:0]
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		if len(pids) >= want {
			return pids
		}
	}
	t.Fatalf("%s holds %d pids, want %d", path, len(pids), want)
	return nil
}

// alive reports whether pid runs (a zombie is not running).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// waitAllGone fails unless every pid stops running within timeout.
func waitAllGone(t *testing.T, pids []int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("process %d outlived its command by %s", pid, timeout)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// escapeScript starts, and writes the pids of to $PIDS: a background
// child, a grandchild, a setsid'd child, a double-fork daemon, and one
// that ignores SIGTERM; then it waits until they all have started.
const escapeScript = `
sleep 60 & echo $! >>"$PIDS"
sh -c 'sleep 60 & echo $! >>"$PIDS"; wait' &
setsid sleep 60 & echo $! >>"$PIDS"
( setsid sh -c 'echo $$ >>"$PIDS"; exec sleep 60' & ) </dev/null >/dev/null 2>&1
sh -c 'trap "" TERM; echo $$ >>"$PIDS"; while :; do sleep 1; done' &
until [ "$(wc -l <"$PIDS")" -ge 5 ]; do sleep 0.01; done
`

const escapees = 5

func TestExecStopsWhatOutlivesTheCommand(t *testing.T) {
	tests := map[string]struct {
		script string
		cancel bool
	}{
		"the command exits":      {script: escapeScript + "exit 0"},
		"the command is stopped": {script: escapeScript + "sleep 60", cancel: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pids")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var out bytes.Buffer
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := Target(WithGracePeriod(300*time.Millisecond)).Exec(ctx, &sdk.Command{
					Args: []string{"sh", "-c", tc.script}, Env: map[string]string{"PIDS": path}, Stdout: &out, Stderr: &out,
				})
				done <- err
			}()
			pids := pidsOf(t, path, escapees)
			if tc.cancel {
				cancel()
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Exec did not return")
			}
			t.Logf("Exec returned after %s", time.Since(start).Round(time.Millisecond))
			waitAllGone(t, pids, 2*time.Second)
		})
	}
}

// TestExecDaemonHoldingOutput: a daemon that escaped the group and keeps
// the command's stdout open is stopped, so Exec returns well before the
// grace period it would otherwise wait for the output to end.
func TestExecDaemonHoldingOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pids")
	var out bytes.Buffer
	start := time.Now()
	_, err := Target(WithGracePeriod(10*time.Second)).Exec(t.Context(), &sdk.Command{
		Args: []string{"sh", "-c", `( setsid sh -c 'echo $$ >>"$PIDS"; exec sleep 60' & ); until [ -s "$PIDS" ]; do sleep 0.01; done; echo started`},
		Env:  map[string]string{"PIDS": path}, Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Exec took %s: it waited for the daemon's output", took)
	}
	if !strings.Contains(out.String(), "started") {
		t.Errorf("output = %q", out.String())
	}
	waitAllGone(t, pidsOf(t, path, 1), 2*time.Second)
}

func TestKillOrphans(t *testing.T) {
	// kept is this process's own child: KillOrphans leaves it.
	kept := exec.Command("sleep", "60")
	release, err := Spawn(func() (int, error) {
		if err := kept.Start(); err != nil {
			return 0, err
		}
		return kept.Process.Pid, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kept.Process.Kill(); _ = kept.Wait(); release() }()

	// The sh started here is not recorded, as a plugin process killed
	// with its commands is not: it and what it started are orphans.
	path := filepath.Join(t.TempDir(), "pids")
	orphan := exec.Command("sh", "-c", `echo $$ >>"$PIDS"; setsid sleep 60 & echo $! >>"$PIDS"; sleep 60 & echo $! >>"$PIDS"; wait`)
	orphan.Env = append(os.Environ(), "PIDS="+path)
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = orphan.Wait() }() // KillOrphans may reap it first
	pids := pidsOf(t, path, 3)

	KillOrphans(2 * time.Second)
	waitAllGone(t, pids, time.Second)
	if !alive(kept.Process.Pid) {
		t.Error("KillOrphans killed a child started through Spawn")
	}
}

func TestKillDescendants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("sh", "-c", escapeScript+"wait")
	cmd.Env = append(os.Environ(), "PIDS="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := append(pidsOf(t, path, escapees), cmd.Process.Pid)
	KillDescendants(2 * time.Second)
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d survived KillDescendants", pid)
		}
	}
	_ = cmd.Wait()
	KillOrphans(time.Second) // reap the zombies
}

func BenchmarkScanProcs(b *testing.B) {
	for b.Loop() {
		scanProcs()
	}
}
