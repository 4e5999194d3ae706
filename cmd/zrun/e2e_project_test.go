package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedProject runs the read-only commands on the repository's own
// project (zrun.hcl, workflows/, environments/).
func TestShippedProject(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args    []string
		want    []string
		notWant []string
	}{
		"validate": {
			args: []string{"validate"},
			want: []string{"The project is valid: 10 workflow(s), 3 environment(s)."},
		},
		"list": {
			args: []string{"list"},
			want: []string{"health-check", "Wait until every service answers /health", "[timeout] [interval]", "deploy", "rollback", "down"},
		},
		"env list": {
			args: []string{"env", "list"},
			want: []string{"dev  Local Docker", "stage (extends dev)", "prod (extends stage)"},
		},
		"env show prod": {
			args: []string{"env", "show", "prod"},
			want: []string{
				`environment "prod" extends "stage"`,
				"env.db.port = 5432\n", // from dev, through stage
				`env.db.name = "zakupai_prod"`,
				`env.log_level = "WARNING"`,
				`env.monitoring.enabled = true`, // from stage, merged with prod's monitoring
				`env.monitoring.retention = "30d"`,
				`env.services.gateway.url = "http://localhost:8080"`,
			},
			notWant: []string{`"DEBUG"`, `"INFO"`, "zakupai_stage"},
		},
		"env diff stage prod": {
			args: []string{"env", "diff", "stage", "prod"},
			want: []string{
				`~ env.log_level: "INFO" -> "WARNING"`,
				`+ env.security.ssl = true`,
				`+ env.security.trusted_hosts = ["zakupai.site","api.zakupai.site"]`,
				`~ env.db.name: "zakupai_stage" -> "zakupai_prod"`,
			},
			notWant: []string{"env.db.port", "env.services"},
		},
		"graph dot": {
			args: []string{"graph", "health-check", "--format", "dot"},
			want: []string{"digraph", `"step.service[for_each: env.services] (http.check)"`},
		},
		"graph mermaid": {
			args: []string{"graph", "health-check", "--format", "mermaid"},
			want: []string{"flowchart", `["step.service[for_each: env.services] (http.check)"]`},
		},
		"plugins list": {
			args: []string{"plugins", "list"},
			want: []string{"exec  ", "builtin  run", "http  ", "builtin  check, request"},
		},
		"plugins schema http": {
			args: []string{"plugins", "schema", "http"},
			want: []string{"# Plugin http", "## http.check", "- `urls` (map(string), required)", "- `interval` (string, optional)",
				"- `deadline` (string, optional)", "Outputs:", "- `healthy` (map(bool))", "## http.request"},
		},
		"version": {
			args: []string{"version"},
			want: []string{"zrun ", "builtin plugin exec", "builtin plugin http", "plugin protocol 1"},
		},
		"completion bash": {
			args: []string{"completion", "bash"},
			want: []string{"bash completion", "zrun"},
		},
		"fmt --check": {
			args:    []string{"fmt", "--check"},
			notWant: []string{".hcl"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := zrun(t, repoRoot, nil, tc.args...)
			wantCode(t, r, 0)
			wantContains(t, "stdout", r.stdout, tc.want...)
			for _, nw := range tc.notWant {
				if strings.Contains(r.stdout, nw) {
					t.Errorf("stdout contains %q:\n%s", nw, r.stdout)
				}
			}
			if strings.Contains(r.stderr, "Error") {
				t.Errorf("stderr reports an error:\n%s", r.stderr)
			}
		})
	}
}

// TestConfigErrors checks that every problem of a broken workflow is
// reported at once with its position and source line, and that nothing
// runs.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := project(t, "badconfig")
	wantDiags := []struct {
		summary, pos, src string
		col, width        int
	}{
		{"Unknown action", "workflows/bad.hcl:3:14", "3 |     action = exec.rum", 14, len("exec.rum")},
		{"Unsupported argument", "workflows/bad.hcl:10:5", `10 |     colour = "red"`, 5, len("colour")},
		{"Reference to undeclared param", "workflows/bad.hcl:15:22", `15 |     script = "echo ${param.nope}"`, 22, len("param.nope")},
	}
	// Run from the project folder, as users do; with -C DIR the positions
	// carry DIR's absolute path.
	tests := map[string][]string{
		"validate":         {"validate"},
		"workflow":         {"workflow", "bad"},
		"validate with -C": {"-C", dir, "validate"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			r := zrunIn(t, dir, nil, args...)
			wantCode(t, r, 3)
			for _, d := range wantDiags {
				wantContains(t, "stderr", r.stderr, "Error: "+d.summary, d.pos+"\n", d.src)
				if args[0] != "-C" {
					wantContains(t, "stderr", r.stderr, "--> "+d.pos)
				}
				// The caret line sits under the source line, its carets
				// under the subject.
				caret := "| " + strings.Repeat(" ", d.col-1) + strings.Repeat("^", d.width) + "\n"
				srcAt := strings.Index(r.stderr, d.src+"\n")
				if srcAt < 0 || !strings.HasPrefix(strings.TrimLeft(r.stderr[srcAt+len(d.src)+1:], " "), caret) {
					t.Errorf("no %q under %q:\n%s", caret, d.src, r.stderr)
				}
			}
			wantContains(t, "stderr", r.stderr, `Did you mean "run"?`, "3 error(s)")
			if strings.Contains(r.stdout, "started") {
				t.Errorf("something ran:\n%s", r.stdout)
			}
			wantFile(t, filepath.Join(dir, "ran.marker"), false)
		})
	}
}

// TestUsageErrors checks the usage exit code, and the configuration one
// for a missing param.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := project(t, "basic")
	tests := map[string]struct {
		args []string
		code int
		want []string
	}{
		"unknown flag":           {[]string{"workflow", "deploy", "--bogus"}, 2, []string{"unknown flag: --bogus"}},
		"missing workflow name":  {[]string{"workflow"}, 2, []string{"the workflow's name", "Usage:"}},
		"output yaml":            {[]string{"workflow", "deploy", "--param", "version=1", "--output", "yaml"}, 2, []string{`--output "yaml"`}},
		"bad param syntax":       {[]string{"workflow", "deploy", "--param", "version"}, 2, []string{"want name=value"}},
		"graph format":           {[]string{"graph", "deploy", "--format", "png"}, 2, []string{`--format "png"`}},
		"unknown command":        {[]string{"deploy"}, 2, []string{`unknown command "deploy"`}},
		"missing required param": {[]string{"workflow", "deploy"}, 3, []string{"Missing required param", `needs param "version"`, "workflows/deploy.hcl:5:3"}},
		"unknown workflow":       {[]string{"workflow", "deplyo"}, 3, []string{"Unknown workflow", `"deploy"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := zrun(t, dir, nil, tc.args...)
			wantCode(t, r, tc.code)
			wantContains(t, "stderr", oneLine(r.stderr), tc.want...)
		})
	}
	wantFile(t, filepath.Join(dir, "built.marker"), false)
}

// TestPlan checks that plan and --dry-run show the steps and what they
// would change, and run nothing.
func TestPlan(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"plan":      {"plan", "deploy", "--param", "version=1.2.3"},
		"dry-run":   {"workflow", "deploy", "--param", "version=1.2.3", "--dry-run"},
		"plan json": {"plan", "deploy", "--param", "version=1.2.3", "--output", "json"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := project(t, "basic")
			r := zrun(t, dir, nil, args...)
			wantCode(t, r, 0)
			if strings.HasSuffix(name, "json") {
				var plan struct {
					Workflow string `json:"workflow"`
					Steps    []struct {
						Addr      string   `json:"step"`
						Action    string   `json:"action"`
						DependsOn []string `json:"depends_on"`
						Changes   []string `json:"changes"`
					} `json:"steps"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
					t.Fatalf("plan is not JSON: %v\n%s", err, r.stdout)
				}
				if plan.Workflow != "deploy" || len(plan.Steps) != 2 || plan.Steps[1].Addr != "step.ship" ||
					len(plan.Steps[1].DependsOn) != 1 || len(plan.Steps[0].Changes) == 0 {
					t.Errorf("plan = %+v", plan)
				}
			} else {
				wantContains(t, "stdout", r.stdout,
					`Plan: workflow "deploy"`, "param.version = 1.2.3",
					"+ step.build  exec.run", "run sh -c 'echo 1.2.3 > built.marker' on local",
					"+ step.ship  exec.run  (after step.build)",
					"2 step(s). Nothing was run.")
			}
			wantFile(t, filepath.Join(dir, "built.marker"), false)
			wantFile(t, filepath.Join(dir, "shipped.marker"), false)
		})
	}
}

// TestValidateCache: a second `zrun validate` of an unchanged project
// starts no plugin (its schemas and validations are cached by executable
// under .zrun/cache/plugins), still reports the same problems, and
// ZRUN_PLUGIN_CACHE=off starts them again.
func TestValidateCache(t *testing.T) {
	t.Parallel()
	dir := project(t, "basic")
	bad := filepath.Join(dir, "workflows", "bad.hcl")
	if err := os.WriteFile(bad, []byte(`workflow "bad" {
  step "both" {
    action  = exec.run
    command = ["true"]
    script  = "true"
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	debug := []string{"ZRUN_LOG=debug"}
	for i, want := range []string{"starts=map[exec:1]", "starts=map[]"} {
		r := zrun(t, dir, debug, "validate")
		wantCode(t, r, 3)
		wantContains(t, fmt.Sprintf("run %d", i+1), r.stderr, want, "Conflicting arguments", "bad.hcl:5")
	}
	r := zrun(t, dir, append(debug, "ZRUN_PLUGIN_CACHE=off"), "validate")
	wantContains(t, "cache off", r.stderr, "starts=map[exec:1]", "Conflicting arguments")

	// Fixed, the project validates: the changed step is asked about anew.
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	r = zrun(t, dir, debug, "validate")
	wantCode(t, r, 0)
}
