package main

// The processes promise: no descendant of a step outlives the run,
// whatever kills what, and no wait on a plugin is unbounded. The steps
// start background children, grandchildren, setsid'd children and
// double-fork daemons, and write their pids to a file; the tests check
// each pid in /proc.

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spawnedPids waits until the file pids in dir holds n pids.
func spawnedPids(t *testing.T, z *running, n int) []int {
	t.Helper()
	var pids []int
	ok := waitFor(10*time.Second, func() bool {
		data, _ := os.ReadFile(filepath.Join(z.dir, "pids"))
		pids = pids[:0]
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return len(pids) >= n
	})
	if !ok {
		t.Fatalf("the step wrote %d pids, want %d\n%s\n%s", len(pids), n, z.stdout, z.stderr)
	}
	return pids
}

// statFields are the fields of /proc/PID/stat after the command's name:
// state, parent, ...; nil for a process that is gone.
func statFields(pid int) []string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	return strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
}

// processRuns reports whether pid is alive: a zombie is dead, awaiting
// its reaper.
func processRuns(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}

// wantGone fails unless every pid is dead within timeout, and kills the
// survivors so they do not outlive the test.
func wantGone(t *testing.T, what string, pids []int, timeout time.Duration) {
	t.Helper()
	waitFor(timeout, func() bool {
		for _, pid := range pids {
			if processRuns(pid) {
				return false
			}
		}
		return true
	})
	for _, pid := range pids {
		if processRuns(pid) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			t.Errorf("process %d (%s) survived %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), what)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// pluginPid returns the pid of zrun's exec plugin process.
func (z *running) pluginPid() int {
	z.t.Helper()
	zpid := z.cmd.Process.Pid
	var pid int
	waitFor(5*time.Second, func() bool {
		for _, p := range procs() {
			if strings.HasSuffix(p.cmdline, pluginModeArg+" exec") && parentOf(p.pid) == zpid {
				pid = p.pid
				return true
			}
		}
		return false
	})
	if pid == 0 {
		z.t.Fatalf("no exec plugin process under zrun %d", zpid)
	}
	return pid
}

func parentOf(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func (z *running) signal(pid int, sig syscall.Signal) {
	z.t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		z.t.Fatalf("kill -%d %d: %v", sig, pid, err)
	}
}

// TestNoDescendantOutlivesTheRun stops a run, in every way it can stop,
// while its step's processes run; none of them survives.
func TestNoDescendantOutlivesTheRun(t *testing.T) {
	tests := map[string]struct {
		workflow string
		params   []string
		pids     int
		// stop stops the run once the step's processes run.
		stop     func(z *running)
		wantCode int
	}{
		"kill -9 of zrun": {
			workflow: "hold", params: []string{"stubborn=1"}, pids: 5,
			stop:     func(z *running) { z.signal(z.cmd.Process.Pid, syscall.SIGKILL) },
			wantCode: -1,
		},
		"kill -9 of the plugin": {
			workflow: "hold", params: []string{"stubborn=1"}, pids: 5,
			stop:     func(z *running) { z.signal(z.pluginPid(), syscall.SIGKILL) },
			wantCode: exitPluginFailure,
		},
		"the step's timeout": {
			workflow: "timeout", pids: 3,
			stop:     func(*running) {},
			wantCode: exitRunFailed,
		},
		"Ctrl-C": {
			workflow: "hold", pids: 4,
			stop:     func(z *running) { z.signal(z.cmd.Process.Pid, syscall.SIGINT) },
			wantCode: exitInterrupted,
		},
		"SIGTERM": {
			workflow: "hold", pids: 4,
			stop:     func(z *running) { z.signal(z.cmd.Process.Pid, syscall.SIGTERM) },
			wantCode: exitInterrupted,
		},
		"Ctrl-C twice": {
			workflow: "hold", params: []string{"stubborn=1", "finally=sleep 60"}, pids: 5,
			stop: func(z *running) {
				z.signal(z.cmd.Process.Pid, syscall.SIGINT)
				z.waitEvent("step_started", "step.cleanup")
				z.signal(z.cmd.Process.Pid, syscall.SIGINT)
			},
			wantCode: exitInterrupted,
		},
		"SIGTERM twice": {
			workflow: "hold", params: []string{"finally=sleep 60"}, pids: 4,
			stop: func(z *running) {
				z.signal(z.cmd.Process.Pid, syscall.SIGTERM)
				z.waitEvent("step_started", "step.cleanup")
				z.signal(z.cmd.Process.Pid, syscall.SIGTERM)
			},
			wantCode: exitInterrupted,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := project(t, "procs")
			args := []string{"workflow", tc.workflow, "--output", "json"}
			for _, p := range tc.params {
				args = append(args, "--param", p)
			}
			z := startZrun(t, dir, args...)
			pids := spawnedPids(t, z, tc.pids)
			tc.stop(z)
			if code := z.wait(15 * time.Second); code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tc.wantCode, z.stderr)
			}
			wantGone(t, name, pids, 3*time.Second)
			wantNoLeftovers(t, dir)
		})
	}
}

// TestLingeringChildrenStopWithTheirStep: a step whose command exits
// while what it started lives on: those processes are stopped as the step
// ends, not when the run does.
func TestLingeringChildrenStopWithTheirStep(t *testing.T) {
	dir := project(t, "procs")
	z := startZrun(t, dir, "workflow", "linger", "--output", "json")
	pids := spawnedPids(t, z, 4)
	z.waitEvent("step_started", "step.next")
	wantGone(t, "the end of their step", pids, 3*time.Second)
	select {
	case <-z.done:
		t.Fatalf("zrun exited before step.next ended: the test proves nothing\n%s", z.stderr)
	default:
	}
	z.signal(z.cmd.Process.Pid, syscall.SIGINT)
	z.wait(10 * time.Second)
	wantNoLeftovers(t, dir)
}

// TestStoppedPluginIsReplaced stops (SIGSTOP) the plugin under a step,
// which then times out or is interrupted: the step ends, the stopped
// plugin is killed, and the finally step runs in a fresh one.
func TestStoppedPluginIsReplaced(t *testing.T) {
	tests := map[string]struct {
		interrupt  bool
		wantCode   int
		wantStatus string
		wantError  string
	}{
		"the step's timeout": {wantCode: exitRunFailed, wantStatus: "failed", wantError: "timed out after 2s"},
		"Ctrl-C":             {interrupt: true, wantCode: exitInterrupted, wantStatus: "cancelled", wantError: "interrupted (Ctrl-C)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := project(t, "procs")
			z := startZrun(t, dir, "workflow", "stopped", "--output", "json")
			spawnedPids(t, z, 1)
			plugin := z.pluginPid()
			z.signal(plugin, syscall.SIGSTOP)
			if tc.interrupt {
				z.signal(z.cmd.Process.Pid, syscall.SIGINT)
			}
			start := time.Now()
			if code := z.wait(10 * time.Second); code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tc.wantCode, z.stderr)
			}
			t.Logf("zrun ended %s after the plugin was stopped", time.Since(start).Round(time.Millisecond))
			evs := parseEvents(t, z.stdout.String())
			if e, _ := stepEvent(evs, "step_finished", "step.slow"); e.Status != tc.wantStatus || !strings.Contains(e.Error, tc.wantError) {
				t.Errorf("step.slow finished %+v, want %s with %q", e, tc.wantStatus, tc.wantError)
			}
			if e, _ := stepEvent(evs, "step_finished", "step.cleanup"); e.Status != "ok" {
				t.Errorf("step.cleanup finished %+v, want ok", e)
			}
			wantFile(t, filepath.Join(dir, "finally.marker"), true)
			wantGone(t, "the run", []int{plugin}, 2*time.Second)
			wantNoLeftovers(t, dir)
		})
	}
}

// TestStoppedPluginInterruptedTwice stops (SIGSTOP) the plugin, then
// interrupts zrun twice: it exits within 2 s of the second interrupt,
// leaves no process behind, and the ledger says the run was cancelled.
func TestStoppedPluginInterruptedTwice(t *testing.T) {
	dir := project(t, "procs")
	z := startZrun(t, dir, "workflow", "stopped_forever", "--output", "json")
	pids := spawnedPids(t, z, 1)
	plugin := z.pluginPid()
	z.signal(plugin, syscall.SIGSTOP)
	z.signal(z.cmd.Process.Pid, syscall.SIGINT)
	time.Sleep(300 * time.Millisecond)
	z.signal(z.cmd.Process.Pid, syscall.SIGINT)
	start := time.Now()
	if code := z.wait(2 * time.Second); code != exitInterrupted {
		t.Errorf("exit code %d, want %d\n%s", code, exitInterrupted, z.stderr)
	}
	t.Logf("zrun stopped %s after the second interrupt", time.Since(start).Round(time.Millisecond))
	wantGone(t, "the second interrupt", append(pids, plugin), 2*time.Second)
	wantNoLeftovers(t, dir)

	id := startedRunID(t, z.stdout.String())
	r := zrun(t, dir, nil, "runs", "--status", "cancelled")
	wantCode(t, r, 0)
	wantContains(t, "runs --status cancelled", r.stdout, id)
	r = zrun(t, dir, nil, "show", id)
	wantCode(t, r, 0)
	wantContains(t, "show", r.stdout, "cancelled")
	if strings.Contains(r.stdout, "running") {
		t.Errorf("the run or a step is still recorded as running:\n%s", r.stdout)
	}
}
