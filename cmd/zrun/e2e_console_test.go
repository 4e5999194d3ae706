package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The secrets of testdata/console: one from the process environment, one
// a command prints (leaving a marker file each time it runs).
const (
	consoleToken  = "tok-E2E-f00dcafe"
	consoleAPIKey = "key-E2E-c0n5ole"
)

// zrunConsole runs `zrun -C dir console args...` with stdin as its
// standard input (not a terminal).
func zrunConsole(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	return zrunStdin(t, dir, []string{"ZRUN_E2E_CONSOLE_TOKEN=" + consoleToken}, strings.NewReader(stdin), append([]string{"-C", dir, "console"}, args...)...)
}

// TestConsoleValues: one expression per line, each value printed as
// terraform console prints it, in the scope of the workflow and
// environment chosen.
func TestConsoleValues(t *testing.T) {
	t.Parallel()
	dir := project(t, "console")
	lines := []struct{ in, out string }{
		{`upper("x")`, `"X"`},
		{`env.db_host`, `"db-prod"`},
		{`env.db_port + 1`, `5433`},
		{`param.version`, `"1.4.2"`},
		{`param.replicas`, `3`},
		{`param.tags`, "tolist([\n  \"a\",\n  \"b\",\n])"},
		{`env.services.api`, "{\n  \"replicas\" = 2\n  \"url\" = \"http://api:8080\"\n}"},
		{`{ a = [1, { b = true }] }`, "{\n  \"a\" = [\n    1,\n    {\n      \"b\" = true\n    },\n  ]\n}"},
		{`toset(["b", "a"])`, "toset([\n  \"a\",\n  \"b\",\n])"},
		{`tomap({ k = "v" })`, "tomap({\n  \"k\" = \"v\"\n})"},
		{`"two\nlines"`, "<<EOT\ntwo\nlines\nEOT"},
		{`"tab\tand $${literal}"`, `"tab\tand $${literal}"`},
		{`null`, `null`},
		{`[]`, `[]`},
		{`run.env`, `"prod"`},
		{`run.workflow`, `"deploy"`},
		{`run.id`, `(known at run time)`},
		{`jsonencode({ port = env.db_port })`, `"{\"port\":5432}"`},
		// An expression goes on while a bracket, an interpolation or a heredoc is open.
		{"{\n  a = [\n    1,\n  ]\n}", "{\n  \"a\" = [\n    1,\n  ]\n}"},
		{"upper(\n  \"${env.db_host}\"\n)", `"DB-PROD"`},
		{"<<EOT\nhost ${env.db_host}\nEOT", "<<EOT\nhost db-prod\n\nEOT"},
	}
	var in, want strings.Builder
	for _, l := range lines {
		in.WriteString(l.in + "\n")
		want.WriteString(l.out + "\n")
	}
	r := zrunConsole(t, dir, in.String(), "--env", "prod", "--workflow", "deploy", "--param", "version=1.4.2")
	wantCode(t, r, 0)
	if r.stdout != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want.String())
	}
	if r.stderr != "" {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// TestConsoleErrors: a bad line is a diagnostic against <console> with
// a caret under the problem; the lines after it are still evaluated;
// input that is not a terminal exits 3 when any line failed, and 0 when
// "exit" came before the failure.
func TestConsoleErrors(t *testing.T) {
	t.Parallel()
	dir := project(t, "console")
	r := zrunConsole(t, dir, "1 + 1\nupper(1, 2)\nstep.show.stdout\n\"a-${env.db_hots}\"\n2 + 2\n", "--env", "stage")
	wantCode(t, r, exitConfig)
	if r.stdout != "2\n4\n" {
		t.Errorf("stdout %q, want the values of the good lines", r.stdout)
	}
	wantContains(t, "stderr", r.stderr,
		"Error: Too many function arguments\n  --> <console>:1:10\n",
		"1 | upper(1, 2)\n  |          ^",
		"Error: Reference to a step outside a run\n  --> <console>:1:1\n",
		"step.show only exists during a run",
		"Error: Reference to undefined environment value\n  --> <console>:1:6\n",
		"1 | \"a-${env.db_hots}\"\n  |      ^^^^^^^^^^^",
	)
	wantContains(t, "stderr", oneLine(r.stderr), `Did you mean "db_host"?`)

	r = zrunConsole(t, dir, "1\nexit\nnosuch(\n", "--env", "stage")
	wantCode(t, r, 0)
	if r.stdout != "1\n" {
		t.Errorf("after exit: stdout %q", r.stdout)
	}

	r = zrunConsole(t, dir, "1\n", "--env", "nope")
	wantCode(t, r, exitConfig)
	wantContains(t, "stderr", r.stderr, "Unknown environment")

	r = zrunConsole(t, dir, "1\n", "--env", "stage", "--param", "version=1")
	wantCode(t, r, exitUsage)
	wantContains(t, "stderr", oneLine(r.stderr), "choose one with --workflow NAME: backup, deploy.")

	r = zrunConsole(t, dir, "param.version\nparam.replicas\n", "--env", "stage", "--workflow", "deploy")
	wantCode(t, r, 0)
	if r.stdout != "(known at run time)\n3\n" {
		t.Errorf("a required param not given: stdout %q", r.stdout)
	}
	wantContains(t, "stderr", r.stderr, "Warning: Param without a value")

	r = zrunConsole(t, dir, strings.Repeat("x", 2<<20)+"\n\"after\"\n", "--env", "stage")
	wantCode(t, r, exitConfig)
	wantContains(t, "stderr", r.stderr, "Error: Line too long")
	if r.stdout != "\"after\"\n" {
		t.Errorf("after a line too long: stdout %q", r.stdout)
	}
}

// TestConsoleSecrets: a secret is read only for an expression that uses
// it, once, and shown in no shape: not itself, not derived by a function,
// inside a template or an object, nor its own text unmarked by
// nonsensitive. What nonsensitive shows on purpose (a hash) is shown.
func TestConsoleSecrets(t *testing.T) {
	t.Parallel()
	dir := project(t, "console")
	marker := filepath.Join(dir, "api-key-read")

	r := zrunConsole(t, dir, "upper(\"x\")\nenv.db_host\n", "--env", "stage")
	wantCode(t, r, 0)
	wantFile(t, marker, false)

	in := strings.Join([]string{
		`secret.token`,
		`upper(secret.token)`,
		`"${secret.api_key}-y"`,
		`{ a = secret.token, b = 1 }`,
		`[secret.api_key, lower(secret.api_key)]`,
		`base64encode(secret.token)`,
		`nonsensitive(secret.token)`,
		`nonsensitive(sha256(secret.api_key))`,
		`tonumber(secret.token)`,
		`secret.broken`,
		`"${secret.api_key}" == "x"`,
	}, "\n") + "\n"
	r = zrunConsole(t, dir, in, "--env", "stage")
	wantCode(t, r, exitConfig) // tonumber and secret.broken fail
	wantContains(t, "stdout", r.stdout,
		"(sensitive value)\n(sensitive value)\n(sensitive value)\n{\n  \"a\" = (sensitive value)\n  \"b\" = 1\n}\n")
	wantContains(t, "stderr", r.stderr, "Secret \"broken\" cannot be read: environment variable ZRUN_E2E_CONSOLE_UNSET is not set")
	for _, s := range []string{consoleToken, consoleAPIKey, strings.ToUpper(consoleToken), strings.ToUpper(consoleAPIKey), "dG9rLUUyRS1mMDBkY2FmZQ"} {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("%q shown:\n%s", s, r)
		}
	}
	if sum := sha256.Sum256([]byte(consoleAPIKey)); !strings.Contains(r.stdout, `"`+hex.EncodeToString(sum[:])+`"`) {
		t.Errorf("nonsensitive(sha256(secret.api_key)) not shown:\n%s", r)
	}
	b, err := os.ReadFile(marker)
	if err != nil || strings.Count(string(b), "read") != 1 {
		t.Errorf("the api_key command ran %q times, want once (%v)", b, err)
	}
}

// TestConsoleTerminal: on a terminal (script(1) gives zrun one) the
// console prompts, and ends with exit code 0 at Ctrl-D, even after an
// error.
func TestConsoleTerminal(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed (util-linux): it gives zrun a terminal")
	}
	dir := project(t, "console")
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", zrunBin+" -C "+dir+" console --env stage", os.DevNull)
	cmd.Dir = dir
	cmd.Env = zrunCommand(ctx, dir, []string{"ZRUN_E2E_CONSOLE_TOKEN=" + consoleToken}).Env
	cmd.Stdin = strings.NewReader("upper(\"x\")\rnosuch(1)\rupper(\r\"y\")\rsecret.token\r\x04")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("zrun console on a terminal: still running after %s\n%s", runTimeout, out)
	}
	if err != nil {
		t.Fatalf("zrun console on a terminal: %v\n%s", err, out)
	}
	got := strings.ReplaceAll(string(out), "\r\n", "\n")
	wantContains(t, "output", got, "> upper(\"x\")\n\"X\"\n", "Error: Call to unknown function\n  --> <console>:1:1\n", "> upper(\n  \"y\")\n\"Y\"\n", "> secret.token\n(sensitive value)\n")
	if strings.Contains(got, consoleToken) {
		t.Errorf("the secret is shown:\n%s", got)
	}
}

// TestConsoleInterruptWhileReading: Ctrl-C ends a console waiting for a
// line on a pipe, with the interrupt's exit code.
func TestConsoleInterruptWhileReading(t *testing.T) {
	t.Parallel()
	dir := project(t, "console")
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := zrunCommand(ctx, dir, nil, "-C", dir, "console", "--env", "stage")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out := newLineWriter()
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "1 + 1\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case line := <-out.lines:
		if line != "2" {
			t.Fatalf("got %q, want 2", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to 1 + 1")
	}
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the console took %s to end after Ctrl-C", took)
	}
}
