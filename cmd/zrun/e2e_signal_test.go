package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// running is a zrun started in the background with --output json.
type running struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	stdout *lineWriter
	stderr *lineWriter
	done   chan struct{}
	code   int
}

func startZrun(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	cmd := zrunCommand(ctx, dir, nil, append([]string{"-C", dir}, args...)...)
	z := &running{t: t, dir: dir, cmd: cmd, stdout: newLineWriter(), stderr: newLineWriter(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = z.stdout, z.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer cancel()
		_ = cmd.Wait()
		z.code = cmd.ProcessState.ExitCode()
		close(z.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-z.done
	})
	return z
}

// waitEvent reads events until one of typ for step arrives.
func (z *running) waitEvent(typ, step string) {
	z.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-z.stdout.lines:
			var e event
			if json.Unmarshal([]byte(line), &e) == nil && e.Type == typ && e.Step == step {
				return
			}
		case <-z.done:
			z.t.Fatalf("zrun exited with %d before %s of %s\n%s\n%s", z.code, typ, step, z.stdout, z.stderr)
		case <-timeout:
			z.t.Fatalf("no %s of %s after 10s\n%s", typ, step, z.stdout)
		}
	}
}

// waitSleep waits until a `sleep` runs in the project folder.
func (z *running) waitSleep() {
	z.t.Helper()
	if !waitFor(5*time.Second, func() bool {
		for _, p := range ours(z.dir) {
			if strings.HasPrefix(p.cmdline, "sleep ") {
				return true
			}
		}
		return false
	}) {
		z.t.Fatalf("no sleep started\n%s", z.stdout)
	}
}

// interruptDuring sends SIGINT to zrun once step has started and its
// sleep is running. Only zrun gets it, not its process group: its
// children must learn of it from zrun.
func (z *running) interruptDuring(step string) {
	z.t.Helper()
	z.waitEvent("step_started", step)
	z.waitSleep()
	if err := z.cmd.Process.Signal(os.Interrupt); err != nil {
		z.t.Fatal(err)
	}
}

// wait waits for zrun to exit, at most within, and returns its code.
func (z *running) wait(within time.Duration) int {
	z.t.Helper()
	select {
	case <-z.done:
		return z.code
	case <-time.After(within):
		z.t.Fatalf("zrun still running %s after the interrupt\n%s\n%s", within, z.stdout, z.stderr)
	}
	return -1
}

// TestInterrupt sends one SIGINT while a step sleeps: the step is
// cancelled, its dependent never starts, the finally step runs, and zrun
// exits 130 leaving no process behind.
func TestInterrupt(t *testing.T) {
	dir := project(t, "interrupt")
	z := startZrun(t, dir, "workflow", "once", "--output", "json")
	z.interruptDuring("step.slow")
	if code := z.wait(10 * time.Second); code != 130 {
		t.Errorf("exit code %d, want 130\n%s", code, z.stderr)
	}
	evs := parseEvents(t, z.stdout.String())
	for step, want := range map[string][]string{
		"step.slow":    {"cancelled"},
		"step.after":   {"cancelled", "skipped"},
		"step.cleanup": {"ok"},
	} {
		e, _ := stepEvent(evs, "step_finished", step)
		if !strings.Contains(strings.Join(want, " "), e.Status) || e.Status == "" {
			t.Errorf("%s finished %+v, want %v", step, e, want)
		}
	}
	if e := runFinished(t, evs); e.Status != "cancelled" {
		t.Errorf("run_finished = %+v", e)
	}
	if _, ok := stepEvent(evs, "step_started", "step.after"); ok {
		t.Error("step.after started after the interrupt")
	}
	wantFile(t, filepath.Join(dir, "finally.marker"), true)
	wantFile(t, filepath.Join(dir, "after.marker"), false)
	wantContains(t, "stderr", z.stderr.String(), "Interrupt received")
	wantNoLeftovers(t, dir)
}

// TestInterruptTwice sends a second SIGINT while the finally step sleeps:
// zrun stops at once, and still leaves no process behind.
func TestInterruptTwice(t *testing.T) {
	dir := project(t, "interrupt")
	z := startZrun(t, dir, "workflow", "twice", "--output", "json")
	z.interruptDuring("step.slow")
	z.interruptDuring("step.slow_cleanup")
	start := time.Now()
	if code := z.wait(5 * time.Second); code != 130 {
		t.Errorf("exit code %d, want 130\n%s", code, z.stderr)
	}
	t.Logf("zrun stopped %s after the second interrupt", time.Since(start).Round(time.Millisecond))
	wantContains(t, "stderr", z.stderr.String(), "Second interrupt")
	wantNoLeftovers(t, dir)
}
