package main

import (
	"os"
	"path/filepath"
	"strings"
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

	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, 5) // a plugin could not start
	want := []struct{ summary, at, detail string }{
		{"Failed to read file", "", "environments/zero.hcl cannot be read"},
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
	wantContains(t, "stderr", r.stderr, "12 error(s)")
}
