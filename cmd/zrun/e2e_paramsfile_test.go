package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// paramsToken is the sensitive param the params files give.
const paramsToken = "pf-token-7c1e9a04d3b2"

// ranLines is what the deploy workflow of testdata/paramsfile wrote.
func ranLines(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ran.txt"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParamsFileMerged: params files are read in order, typed by the
// workflow's params, --param wins over them, and plan's run command
// repeats them.
func TestParamsFileMerged(t *testing.T) {
	t.Parallel()
	dir := project(t, "paramsfile")
	writeFile(t, filepath.Join(dir, "base.zrunparams"), "version  = \"1.0\"\nreplicas = 3\nzones    = [\"a\", \"b\"]\n")
	writeFile(t, filepath.Join(dir, "prod.zrunparams"), "# later files win\nversion = \"2.0\"\n")
	args := []string{"--env", "stage", "--params-file", "base.zrunparams", "--params-file", "prod.zrunparams", "--param", "replicas=5"}
	r := zrunIn(t, dir, nil, append([]string{"workflow", "deploy"}, args...)...)
	wantCode(t, r, 0)
	if got := ranLines(t, dir); got != "2.0 5 a,b 0\n" {
		t.Errorf("the step got %q, want version from the later file, replicas from --param, zones from the first file", got)
	}
	r = zrunIn(t, dir, nil, append([]string{"plan", "deploy"}, args...)...)
	wantCode(t, r, 0)
	wantContains(t, "plan", r.stdout, `param.version = 2.0`, `param.replicas = 5`,
		"Run it with: zrun workflow deploy --env stage --params-file base.zrunparams --params-file prod.zrunparams --param replicas=5")
}

// TestParamsFileSensitive: a sensitive param from a params file is in
// nothing zrun writes: output, plan, JSON events, the ledger.
func TestParamsFileSensitive(t *testing.T) {
	t.Parallel()
	dir := project(t, "paramsfile")
	writeFile(t, filepath.Join(dir, "secret.zrunparams"), "version = \"1.0\"\ntoken = \""+paramsToken+"\"\n")
	args := []string{"--env", "stage", "--params-file", "secret.zrunparams"}
	w := written{}
	r := zrunIn(t, dir, nil, append([]string{"workflow", "deploy"}, args...)...)
	wantCode(t, r, 0)
	w.add("workflow", r)
	if got := ranLines(t, dir); got != "1.0 1  21\n" {
		t.Errorf("the step got %q, want the token (21 characters)", got)
	}
	w.add("workflow -o json", zrunIn(t, dir, nil, append([]string{"workflow", "deploy", "-o", "json"}, args...)...))
	w.add("plan", zrunIn(t, dir, nil, append([]string{"plan", "deploy"}, args...)...))
	w.add("plan -o json", zrunIn(t, dir, nil, append([]string{"plan", "deploy", "-o", "json"}, args...)...))
	id := lastRunID(t, dir)
	w.add("show", zrun(t, dir, nil, "show", id))
	w.add("show -o json", zrun(t, dir, nil, "show", id, "-o", "json"))
	w.add("logs", zrun(t, dir, nil, "logs", id))
	// A value of the wrong type: the diagnostic does not quote it.
	writeFile(t, filepath.Join(dir, "wrong.zrunparams"), "version = \"1.0\"\ntoken = [\""+paramsToken+"\"]\n")
	r = zrunIn(t, dir, nil, "workflow", "deploy", "--env", "stage", "--params-file", "wrong.zrunparams")
	wantCode(t, r, 3)
	wantContains(t, "wrong type", r.stderr, "wrong.zrunparams:2:9", "not shown")
	w.add("wrong type", r)
	// A line that does not parse: its diagnostic shows no snippet of it.
	writeFile(t, filepath.Join(dir, "broken.zrunparams"), "version = \"1.0\"\ntoken = \""+paramsToken+"\" x\n")
	r = zrunIn(t, dir, nil, "workflow", "deploy", "--env", "stage", "--params-file", "broken.zrunparams")
	wantCode(t, r, 3)
	wantContains(t, "broken", r.stderr, "broken.zrunparams:2:")
	w.add("broken", r)
	w.addFiles(t, filepath.Join(dir, ".zrun"))
	for what, text := range w {
		if strings.Contains(text, paramsToken) {
			t.Errorf("%s holds the sensitive param's value", what)
		}
	}
	wantContains(t, "workflow", w["workflow: stdout"], "token=(sensitive)")
}

// TestParamsFileBad: a params file that is wrong is reported at its line,
// with how to fix it, and nothing runs.
func TestParamsFileBad(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		src   string // "" for a FIFO
		wants []string
	}{
		"unknown param": {src: "version = \"1\"\nreplica = 2\n",
			wants: []string{"Unknown param", "bad.zrunparams:2:1", `Did you mean "replicas"?`}},
		"a reference": {src: "version = release.tag\n",
			wants: []string{"References not allowed", "bad.zrunparams:1:11", "put it in quotes"}},
		"a function call": {src: "version = \"1\"\nzones = split(\",\", \"a,b\")\n",
			wants: []string{"Function calls not allowed", "bad.zrunparams:2:9"}},
		"deep nesting": {src: "version = \"1\"\nzones = " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n",
			wants: []string{"Nesting too deep", "bad.zrunparams:2:"}},
		"a FIFO": {wants: []string{"Failed to read params file", "bad.zrunparams is not a regular file (it is a named pipe)"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := project(t, "paramsfile")
			path := filepath.Join(dir, "bad.zrunparams")
			if tc.src == "" {
				if err := syscall.Mkfifo(path, 0o644); err != nil {
					t.Skip("no FIFOs here:", err)
				}
			} else {
				writeFile(t, filepath.Join(dir, "bad.zrunparams"), tc.src)
			}
			r := zrunIn(t, dir, nil, "workflow", "deploy", "--env", "stage", "--params-file", "bad.zrunparams")
			wantCode(t, r, 3)
			wantContains(t, "stderr", oneLine(r.stderr), tc.wants...)
			if strings.Contains(r.stderr, "Missing required param") && tc.src == "" {
				t.Errorf("an unreadable file's params are reported missing too:\n%s", r.stderr)
			}
			wantFile(t, filepath.Join(dir, "ran.txt"), false)
		})
	}
}

// runIDs lists the runs the ledger of dir holds.
func runIDs(t *testing.T, dir string) []string {
	t.Helper()
	r := zrun(t, dir, nil, "runs")
	wantCode(t, r, 0)
	return runIDRe.FindAllString(r.stdout, -1)
}

// TestProtectedWithoutTerminal: without a terminal a protected
// environment (its own or inherited) is refused unless --yes, nothing
// runs and nothing is recorded; with --yes the ledger says so; plan never
// asks.
func TestProtectedWithoutTerminal(t *testing.T) {
	t.Parallel()
	dir := project(t, "paramsfile")
	for _, env := range []string{"prod", "prod-eu"} {
		r := zrun(t, dir, nil, "workflow", "deploy", "--env", env, "-p", "version=1")
		wantCode(t, r, 7)
		wantContains(t, "refused", oneLine(r.stderr), "Run not confirmed", `Environment "`+env+`" is protected`, "Give --yes", "Nothing ran.")
	}
	wantFile(t, filepath.Join(dir, "ran.txt"), false)
	if ids := runIDs(t, dir); len(ids) != 0 {
		t.Errorf("refused runs were recorded: %v", ids)
	}
	r := zrun(t, dir, nil, "plan", "deploy", "--env", "prod", "-p", "version=1")
	wantCode(t, r, 0)
	wantContains(t, "plan", r.stdout, "Environment prod is protected: the run asks for its name to be typed (or takes --yes).")
	r = zrun(t, dir, nil, "workflow", "deploy", "--env", "prod", "-p", "version=1", "--dry-run")
	wantCode(t, r, 0)
	r = zrun(t, dir, nil, "workflow", "deploy", "--env", "stage", "-p", "version=1")
	wantCode(t, r, 0)

	r = zrun(t, dir, nil, "workflow", "deploy", "--env", "prod-eu", "-p", "version=2", "--yes")
	wantCode(t, r, 0)
	if got := ranLines(t, dir); got != "1 1  0\n2 1  0\n" {
		t.Errorf("ran %q", got)
	}
	r = zrun(t, dir, nil, "show", lastRunID(t, dir))
	wantContains(t, "show", r.stdout, "in prod-eu", "confirmed by ", "(--yes)")
	r = zrun(t, dir, nil, "show", lastRunID(t, dir), "-o", "json")
	wantContains(t, "show -o json", r.stdout, `"confirmed_by": "`, `(--yes)"`)

	// resume asks too.
	r = zrun(t, dir, nil, "workflow", "deploy", "--env", "prod", "-p", "version=3", "-p", "fail=true", "--yes")
	wantCode(t, r, 4)
	failed := lastRunID(t, dir)
	// The sensitive token was not recorded: a params file gives it again.
	writeFile(t, filepath.Join(dir, "token.zrunparams"), "token = \"abc\"\nfail = false\n")
	r = zrun(t, dir, nil, "resume", failed, "--params-file", "token.zrunparams")
	wantCode(t, r, 7)
	wantContains(t, "resume", oneLine(r.stderr), `Environment "prod" is protected`)
	r = zrun(t, dir, nil, "resume", failed, "--params-file", filepath.Join(dir, "token.zrunparams"), "--yes")
	wantCode(t, r, 0)
	if got := ranLines(t, dir); !strings.HasSuffix(got, "3 1  0\n3 1  3\n") {
		t.Errorf("resume ran %q, want version 3 recorded and the token from the file", got)
	}
}

// zrunTyping runs zrun in dir with a pseudo-terminal as its standard
// input, on which answer is typed; its stdout and stderr are collected
// apart.
func zrunTyping(t *testing.T, dir, answer string, args ...string) result {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pseudo-terminal here:", err)
	}
	defer ptmx.Close()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := zrunCommand(ctx, dir, nil, append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // the echo
	// The terminal keeps the line until zrun reads it.
	if _, err := ptmx.Write([]byte(answer + "\n")); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("zrun %s: still running after %s", strings.Join(args, " "), runTimeout)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// TestProtectedOnTerminal: on a terminal zrun asks for the environment's
// name before anything runs; the right name runs it, recorded as typed,
// and anything else aborts with nothing run and nothing recorded.
func TestProtectedOnTerminal(t *testing.T) {
	t.Parallel()
	dir := project(t, "paramsfile")
	const question = "This will run workflow deploy in the protected environment prod. Type the environment's name to go on:"

	r := zrunTyping(t, dir, "stage", "workflow", "deploy", "--env", "prod", "-p", "version=1")
	wantCode(t, r, 7)
	wantContains(t, "wrong name", oneLine(r.stderr), question, "Run not confirmed", `Cancelled: what was typed is not "prod".`, "Nothing ran.")
	if strings.Contains(r.stderr+r.stdout, "stage") {
		t.Errorf("what was typed is repeated:\n%s", r)
	}
	wantFile(t, filepath.Join(dir, "ran.txt"), false)
	if ids := runIDs(t, dir); len(ids) != 0 {
		t.Errorf("an aborted run was recorded: %v", ids)
	}

	r = zrunTyping(t, dir, "prod", "workflow", "deploy", "--env", "prod", "-p", "version=1")
	wantCode(t, r, 0)
	wantContains(t, "right name", r.stderr, question)
	if got := ranLines(t, dir); got != "1 1  0\n" {
		t.Errorf("ran %q", got)
	}
	r = zrun(t, dir, nil, "show", lastRunID(t, dir))
	wantContains(t, "show", r.stdout, "confirmed by ", "(typed the environment's name)")

	// A resumed run is asked again, naming the run it continues.
	r = zrun(t, dir, nil, "workflow", "deploy", "--env", "prod", "-p", "version=2", "-p", "fail=true", "--yes")
	wantCode(t, r, 4)
	failed := lastRunID(t, dir)
	r = zrunTyping(t, dir, "prod", "resume", failed, "-p", "fail=false", "-p", "token=")
	wantCode(t, r, 0)
	wantContains(t, "resume", oneLine(r.stderr), "This will resume run "+failed+" of workflow deploy in the protected environment prod.")
	r = zrun(t, dir, nil, "show", lastRunID(t, dir))
	wantContains(t, "show", r.stdout, "resumes run "+failed, "(typed the environment's name)")
}
