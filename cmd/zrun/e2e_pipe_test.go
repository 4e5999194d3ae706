package main

// Pipes between steps through the real binary: exec.run's plugin process
// (zrun itself, in plugin mode) connects two commands over a unix socket
// the engine allocates; the bytes never pass through zrun's own process.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// zrunUsage runs zrun like zrun() and also returns the peak RSS (KiB) of
// zrun and of the processes it waited for (its plugins), from wait4.
func zrunUsage(t *testing.T, dir string, args ...string) (result, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*runTimeout)
	defer cancel()
	cmd := zrunCommand(ctx, dir, nil, append([]string{"-C", dir}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("zrun still running after %s\n%s", 2*runTimeout, r)
	}
	return r, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

func TestPipeGiB(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB")
	}
	dir := project(t, "pipe")
	r, maxRSS := zrunUsage(t, dir, "run", "count", "--param", "size=1G")
	wantCode(t, r, 0)
	data, err := os.ReadFile(filepath.Join(dir, "count"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != "1073741824" {
		t.Errorf("the consumer counted %s bytes, want 1073741824", got)
	}
	// zrun and its plugin processes each start near 25 MiB; a byte
	// stream held in memory would be 1 GiB.
	if maxRSS > 100<<10 {
		t.Errorf("peak RSS of zrun or a plugin: %d MiB, want under 100 MiB", maxRSS>>10)
	}
	t.Logf("1 GiB in %s, peak RSS %d MiB", r.took.Round(time.Millisecond), maxRSS>>10)
}

func TestPipeProducerKilled(t *testing.T) {
	dir := project(t, "pipe")
	r := zrun(t, dir, nil, "run", "killed", "--output", "json")
	wantCode(t, r, exitRunFailed)
	evs := parseEvents(t, r.stdout)
	dump, _ := stepEvent(evs, "step_finished", "step.dump")
	load, _ := stepEvent(evs, "step_finished", "step.load")
	if dump.Status != "failed" || load.Status != "failed" {
		t.Fatalf("dump %s, load %s: want both failed\n%s", dump.Status, load.Status, r)
	}
	wantContains(t, "load's error", load.Error, "step.dump failed", "code 137")
	// The command itself saw an end of input and finished; its step
	// did not succeed all the same.
	wantFile(t, filepath.Join(dir, "copy"), true)
}

// A producer whose target is a param is piped: the run knows its params
// before any step, so the stream's type is known.
func TestPipeTargetFromParam(t *testing.T) {
	dir := project(t, "pipe")
	r := zrun(t, dir, nil, "run", "param_target", "--param", "where=local")
	wantCode(t, r, 0)
	data, err := os.ReadFile(filepath.Join(dir, "count"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != "1000" {
		t.Errorf("the consumer counted %s bytes, want 1000", got)
	}
}

func TestPipeConsumerFails(t *testing.T) {
	dir := project(t, "pipe")
	r := zrun(t, dir, nil, "run", "refused", "--output", "json")
	wantCode(t, r, exitRunFailed)
	evs := parseEvents(t, r.stdout)
	dump, _ := stepEvent(evs, "step_finished", "step.dump")
	load, _ := stepEvent(evs, "step_finished", "step.load")
	if load.Status != "failed" || dump.Status != "cancelled" {
		t.Fatalf("dump %s (%s), load %s: want cancelled and failed\n%s", dump.Status, dump.Error, load.Status, r)
	}
	wantContains(t, "dump's error", dump.Error, "consumer step.load ended")
	if r.took > 20*time.Second {
		t.Errorf("took %s: the producer was not stopped", r.took)
	}
}

func TestPipeValidateAndGraph(t *testing.T) {
	dir := project(t, "pipe")
	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, exitConfig)
	wantContains(t, "stderr", oneLine(r.stderr), "Invalid use of a stream", "step.dump.stream is a byte stream", "pipe.hcl:")
	os.Remove(filepath.Join(dir, "workflows", "pipe.hcl"))
	data, err := os.ReadFile(filepath.Join("testdata", "pipe", "workflows", "pipe.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	valid, _, _ := strings.Cut(string(data), `workflow "invalid"`)
	if err := os.WriteFile(filepath.Join(dir, "workflows", "pipe.hcl"), []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	r = zrun(t, dir, nil, "graph", "count", "--format", "text")
	wantCode(t, r, 0)
	wantContains(t, "graph", r.stdout, "after step.dump (pipe)")
	r = zrun(t, dir, nil, "plan", "count")
	wantCode(t, r, 0)
	wantContains(t, "plan", r.stdout, "pipe from step.dump.stream")
}

// TestPipeChain: a | b | c, with one parallelism slot for the pipeline.
func TestPipeChain(t *testing.T) {
	dir := project(t, "pipe")
	r := zrun(t, dir, nil, "run", "chain", "--parallelism", "1")
	wantCode(t, r, 0)
	data, err := os.ReadFile(filepath.Join(dir, "chained"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "A\nB\nC\n" {
		t.Errorf("chained = %q", data)
	}
}
