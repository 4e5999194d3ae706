package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestValidateReportsEverythingAtOnce runs `zrun validate` on a project
// with many independent problems, each found in a different phase (reading
// files, parsing, nesting, decoding, environments, binding to plugins,
// plugin schemas, evaluation): all come in the one run, a problem shared
// by several environments once, and a plugin that cannot start once.
func TestValidateReportsEverythingAtOnce(t *testing.T) {
	t.Parallel()
	dir := project(t, "manyerrors")
	plugins := filepath.Join(dir, ".zrun", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "zrun-plugin-broken"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "environments", "zero.hcl")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "workflows", "pipe.hcl"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, 5) // a plugin could not start
	want := []struct{ summary, at, detail string }{
		{"Failed to read file", "", "environments/zero.hcl cannot be read"},
		{"Failed to read file", "", "workflows/pipe.hcl cannot be read"},
		{"Unclosed configuration block", "workflows/notify.hcl:6:19", ""},
		{"Missing step action", "workflows/notify.hcl:6:3", ""}, // what did parse is checked too
		{"Nesting too deep", "workflows/deep.hcl:4:", "more than 128 levels"},
		{"Invalid duration", "workflows/deploy.hcl:22:15", `"9999h" is longer than`},
		{"Unknown parent environment", "environments/envs.hcl:5:13", `Did you mean "dev"?`},
		{"Reference to undeclared workflow", "workflows/deploy.hcl:17:16", `Did you mean "notify"?`},
		{"Unknown action", "workflows/deploy.hcl:5:14", `Did you mean "run"?`},
		{"Unsupported argument", "workflows/deploy.hcl:10:5", `Did you mean "script"?`},
		{"Reference to undeclared param", "workflows/deploy.hcl:14:22", ""},
		{"Reference to undefined environment value", "workflows/deploy.hcl:14:42", "(In environments prod, stage.)"},
		{"Plugin unavailable", "workflows/deploy.hcl:25:14", `It is used by 2 steps, none of which could be checked: step.migrate of workflow "deploy", step.seed of workflow "deploy".`},
	}
	stderr := oneLine(r.stderr)
	for _, w := range want {
		wantContains(t, "stderr", r.stderr, "Error: "+w.summary+"\n")
		if w.at != "" {
			wantContains(t, "stderr", r.stderr, "--> "+w.at)
		}
		if w.detail != "" {
			wantContains(t, "stderr", stderr, w.detail)
		}
	}
	if n := strings.Count(r.stderr, "Error: "); n != len(want) {
		t.Errorf("%d errors, want %d:\n%s", n, len(want), r.stderr)
	}
	wantContains(t, "stderr", r.stderr, "13 error(s)")
}

// TestFmtBoundedInput checks that zrun fmt reports a file nested too
// deeply, a named pipe and a link to a device, rewrites none of them, and
// formats the rest.
func TestFmtBoundedInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"workflows/deep.hcl": "workflow \"w\" {\n  description = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + "\n}\n",
		"workflows/long.hcl": "workflow \"v\" {\n  description = 1" + strings.Repeat("+1", 300000) + "\n}\n",
		"workflows/big.hcl":  "# " + strings.Repeat("x", 1<<20) + "\n",
		"workflows/ok.hcl":   "workflow \"ok\" {\ndescription=\"fine\"\n}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "workflows", "pipe.hcl"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "workflows", "zero.hcl")); err != nil {
		t.Fatal(err)
	}
	r := zrunIn(t, dir, nil, "fmt")
	wantCode(t, r, 3)
	wantContains(t, "stderr", oneLine(r.stderr),
		"Error: Nesting too deep --> workflows/deep.hcl:2:",
		"Error: Expression too long --> workflows/long.hcl:2:",
		"Error: Failed to read file", "workflows/big.hcl is larger than 1 MiB",
		"workflows/pipe.hcl is not a regular file (it is a named pipe)",
		"workflows/zero.hcl is not a regular file (it is a character device)")
	wantContains(t, "stdout", r.stdout, "workflows/ok.hcl")
	if src, _ := os.ReadFile(filepath.Join(dir, "workflows", "ok.hcl")); !strings.Contains(string(src), `description = "fine"`) {
		t.Errorf("ok.hcl not formatted:\n%s", src)
	}
}

// TestValidateUnreadableFolder checks that a workflows/ folder that
// cannot be listed fails validation instead of passing as no workflows.
func TestValidateUnreadableFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Symlink("workflows", filepath.Join(dir, "workflows")); err != nil {
		t.Fatal(err)
	}
	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, 3)
	wantContains(t, "stderr", oneLine(r.stderr), "Error: Failed to read project", "workflows/ cannot be read: too many levels of symbolic links")
	if strings.Contains(r.stdout, "valid") {
		t.Errorf("validate passed:\n%s", r.stdout)
	}
}
