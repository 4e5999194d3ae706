package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/zrun-dev/zrun/plugins"
)

// TestThirdPartyPlugin locks, documents and runs the example plugin greet
// from the project's .zrun/plugins, then tampers with it.
func TestThirdPartyPlugin(t *testing.T) {
	t.Parallel()
	dir := project(t, "greet")
	bin := installPlugin(t, greetBin, filepath.Join(dir, ".zrun", "plugins"))

	r := zrun(t, dir, nil, "plugins", "lock")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "Locked 1 plugin(s)")
	lock, diags := plugins.ReadLock(filepath.Join(dir, "zrun.lock.hcl"))
	if diags.HasErrors() || lock == nil {
		t.Fatalf("reading zrun.lock.hcl: %v", diags)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if g := lock.Plugins["greet"]; g == nil || g.Version != "0.1.0" || g.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("lock = %+v, want greet 0.1.0 with sha256 %x", lock.Plugins["greet"], sum)
	}

	r = zrun(t, dir, nil, "workflow", "hi")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "step.hi | greeting ops", `message = "HELLO, OPS!"`)

	r = zrun(t, dir, nil, "plugins", "schema", "greet")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "# Plugin greet 0.1.0", "## greet.hello",
		"- `name` (string, required): Who to greet.", "- `shout` (bool, optional)", "- `message` (string)")

	r = zrun(t, dir, nil, "plugins", "list")
	wantCode(t, r, 0)
	wantContains(t, "stdout", oneLine(r.stdout), "greet 0.1.0 external hello") // columns widen with the builtins

	// One more byte: the checksum no longer matches the lock file. The
	// engine fetches schemas while validating, so this is a "Plugin
	// unavailable" configuration error (exit 3), before anything runs.
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write([]byte{0})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	r = zrun(t, dir, nil, "workflow", "hi")
	wantCode(t, r, 5)
	wantContains(t, "stderr", oneLine(r.stderr), "Plugin unavailable", `plugin "greet"`, "checksum", "zrun.lock.hcl", `run "zrun plugins lock"`)
	if strings.Contains(r.stdout, "HELLO") {
		t.Errorf("the tampered plugin ran:\n%s", r.stdout)
	}
}

// TestLockLoop: the command an error names is the way out. A rebuilt
// plugin is refused with the advice to run `zrun plugins lock`, which
// then succeeds with the answer cache on (it is never refused by the
// lock it renews), records the new build, and the workflow runs. A
// damaged lock file, a FIFO or a link to /dev/zero in its place is an
// error that says the same, and the same command mends it.
func TestLockLoop(t *testing.T) {
	t.Parallel()
	dir := project(t, "greet")
	bin := installPlugin(t, greetBin, filepath.Join(dir, ".zrun", "plugins"))
	wantCode(t, zrun(t, dir, nil, "plugins", "lock"), 0)
	wantCode(t, zrun(t, dir, nil, "validate"), 0) // fills the answer cache
	lockPath := filepath.Join(dir, plugins.LockFileName)

	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin+".new", append(data, "rebuilt"...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(data, "rebuilt"...))
	for _, args := range [][]string{{"validate"}, {"workflow", "hi"}} {
		r := zrun(t, dir, nil, args...)
		wantCode(t, r, 5)
		wantContains(t, "stderr", oneLine(r.stderr), `plugin "greet"`, "checksum", `run "zrun plugins lock"`)
	}
	r := zrun(t, dir, nil, "plugins", "lock")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "greet 0.1.0 (sha256 "+hex.EncodeToString(sum[:])+")", "Locked 1 plugin(s)")
	r = zrun(t, dir, nil, "workflow", "hi")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, `message = "HELLO, OPS!"`)

	damage := map[string]func() error{
		"damaged":   func() error { return os.WriteFile(lockPath, []byte("plugin \"greet\" {\n"), 0o644) },
		"fifo":      func() error { return syscall.Mkfifo(lockPath, 0o644) },
		"/dev/zero": func() error { return os.Symlink("/dev/zero", lockPath) },
		"nested":    func() error { return os.WriteFile(lockPath, []byte("x = "+strings.Repeat("[", 1<<19)), 0o644) },
	}
	for _, name := range []string{"damaged", "fifo", "/dev/zero", "nested"} {
		if err := os.Remove(lockPath); err != nil {
			t.Fatal(err)
		}
		if err := damage[name](); err != nil {
			t.Fatal(err)
		}
		r := zrun(t, dir, nil, "workflow", "hi")
		wantCode(t, r, 3)
		wantContains(t, name+": stderr", oneLine(r.stderr), plugins.LockFileName)
		r = zrun(t, dir, nil, "plugins", "lock")
		wantCode(t, r, 0)
		wantCode(t, zrun(t, dir, nil, "workflow", "hi"), 0)
	}
}

// TestRequiredPluginUnlocked: with no lock file, a plugin zrun.hcl
// requires does not run: the error says which command records it.
// Then a version constraint the plugin does not meet is refused on
// every start, not only by `zrun plugins lock`.
func TestRequiredPluginUnlocked(t *testing.T) {
	t.Parallel()
	dir := project(t, "greet")
	installPlugin(t, greetBin, filepath.Join(dir, ".zrun", "plugins"))
	for _, args := range [][]string{{"validate"}, {"workflow", "hi"}} {
		r := zrun(t, dir, nil, args...)
		wantCode(t, r, 5)
		wantContains(t, "stderr", oneLine(r.stderr), `plugin "greet"`, "is not in zrun.lock.hcl", `run "zrun plugins lock" to record it`)
		if strings.Contains(r.stdout, "HELLO") {
			t.Errorf("the unlocked plugin ran:\n%s", r.stdout)
		}
	}
	wantCode(t, zrun(t, dir, nil, "plugins", "lock"), 0)
	wantCode(t, zrun(t, dir, nil, "workflow", "hi"), 0)

	hcl := filepath.Join(dir, "zrun.hcl")
	src, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hcl, []byte(strings.Replace(string(src), `">= 0.1.0"`, `">= 2.0"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := zrun(t, dir, nil, "workflow", "hi")
	wantCode(t, r, 5)
	wantContains(t, "stderr", oneLine(r.stderr), `plugin "greet" is locked at version 0.1.0 in zrun.lock.hcl, but the project requires >= 2.0`)
	r = zrun(t, dir, nil, "plugins", "lock")
	wantCode(t, r, 5)
	wantContains(t, "stderr", oneLine(r.stderr), "is version 0.1.0, but the project requires >= 2.0")
}

// TestPluginLogLevel: what greet logs through hclog is shown from
// warnings up by default, at the level --log-level or $ZRUN_LOG sets, in
// the step's output and in the ledger.
func TestPluginLogLevel(t *testing.T) {
	t.Parallel()
	dir := project(t, "greet")
	installPlugin(t, greetBin, filepath.Join(dir, ".zrun", "plugins"))
	wantCode(t, zrun(t, dir, nil, "plugins", "lock"), 0)
	const warn, debug = "[WARN] shouting name=ops", "[DEBUG] greeting name=ops"
	tests := map[string]struct {
		env  []string
		args []string
		want []string
	}{
		"default":           {want: []string{"greeting ops", warn}},
		"--log-level error": {args: []string{"--log-level", "error"}, want: []string{"greeting ops"}},
		"--log-level debug": {args: []string{"--log-level", "debug"}, want: []string{debug, "greeting ops", warn}},
		"ZRUN_LOG=debug":    {env: []string{"ZRUN_LOG=debug"}, want: []string{debug, "greeting ops", warn}},
		"the flag wins":     {env: []string{"ZRUN_LOG=debug"}, args: []string{"--log-level=warn"}, want: []string{"greeting ops", warn}},
	}
	for name, tc := range tests {
		r := zrun(t, dir, tc.env, append([]string{"workflow", "hi", "--output", "json"}, tc.args...)...)
		wantCode(t, r, 0)
		var got []string
		for _, e := range parseEvents(t, r.stdout) {
			if e.Type == "step_log" && e.Step == "step.hi" {
				got = append(got, e.Line)
			}
		}
		// Log lines and the UI's travel apart: their order is not kept.
		if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("%s: step.hi's lines (-want +got):\n%s", name, diff)
		}
	}
	wantCode(t, zrun(t, dir, nil, "workflow", "hi"), 0)
	r := zrun(t, dir, nil, "logs", lastRunID(t, dir), "step.hi")
	wantCode(t, r, 0)
	wantContains(t, "zrun logs", r.stdout, warn)

	// A plugin's line holding a secret is masked like its other output,
	// on the terminal and in the ledger.
	wf := `workflow "secret" {
  param "who" {
    type      = string
    sensitive = true
  }
  step "hi" {
    action = greet.hello
    name   = param.who
    shout  = true
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "workflows", "secret.hcl"), []byte(wf), 0o644); err != nil {
		t.Fatal(err)
	}
	r = zrun(t, dir, nil, "workflow", "secret", "--param", "who=hunter2", "--log-level", "debug")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "[WARN] shouting name=", "[DEBUG] greeting name=")
	logs := zrun(t, dir, nil, "logs", lastRunID(t, dir))
	wantContains(t, "zrun logs", logs.stdout, "[WARN] shouting name=")
	for what, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "zrun logs": logs.stdout} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s shows the secret:\n%s", what, out)
		}
	}

	r = zrun(t, dir, nil, "workflow", "hi", "--log-level", "loud")
	wantCode(t, r, 2)
	wantContains(t, "stderr", r.stderr, `"loud" is not a log level`)
}

// TestPluginPath finds greet through $ZRUN_PLUGIN_PATH.
func TestPluginPath(t *testing.T) {
	t.Parallel()
	dir := project(t, "greet")
	pathDir := t.TempDir()
	installPlugin(t, greetBin, pathDir)

	r := zrun(t, dir, nil, "workflow", "hi")
	wantCode(t, r, 3)
	wantContains(t, "stderr", oneLine(r.stderr), `unknown plugin "greet"`)

	env := []string{"ZRUN_PLUGIN_PATH=" + t.TempDir() + string(os.PathListSeparator) + pathDir}
	wantCode(t, zrun(t, dir, env, "plugins", "lock"), 0)
	r = zrun(t, dir, env, "workflow", "hi")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, `message = "HELLO, OPS!"`)
}

// installLocked installs a plugin binary into the project's .zrun/plugins
// and records it in the project's lock file, as a user would.
func installLocked(t *testing.T, bin, dir string) {
	t.Helper()
	installPlugin(t, bin, filepath.Join(dir, ".zrun", "plugins"))
	wantCode(t, zrun(t, dir, nil, "plugins", "lock"), 0)
}

// TestCrashyPlugin runs actions that crash, panic and hang: each fails its
// step, the cleanup steps still run, and no process survives zrun. It
// looks at every process, so it does not run in parallel.
func TestCrashyPlugin(t *testing.T) {
	tests := map[string]struct {
		code   int
		want   []string // in the failed step's error
		within time.Duration
	}{
		"crash": {code: 5, want: []string{`plugin "crashy"`, "exited unexpectedly", "crashy.crash"}, within: 5 * time.Second},
		"panic": {code: 5, want: []string{`plugin "crashy"`, "panicked", "crashy: deliberate panic"}, within: 5 * time.Second},
		// See TestHangIsPluginFailure for what a hang should also report.
		"hang": {code: 4, want: []string{"timed out after 1s"}, within: 4 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := project(t, "crashy")
			installLocked(t, crashyBin, dir)
			r := zrun(t, dir, nil, "workflow", "misbehave", "--param", "what="+name, "--output", "json")
			wantCode(t, r, tc.code)
			if r.took > tc.within {
				t.Errorf("zrun took %s, want under %s", r.took, tc.within)
			}
			evs := parseEvents(t, r.stdout)
			bad, _ := stepEvent(evs, "step_finished", "step."+name)
			if bad.Status != "failed" {
				t.Errorf("step.%s = %+v, want failed", name, bad)
			}
			wantContains(t, "step."+name+"'s error", bad.Error, tc.want...)
			if l, ok := stepEvent(evs, "step_log", "step."+name); !ok || l.Line != "about to "+name+": from step."+name {
				t.Errorf("step.%s's log line = %+v", name, l)
			}
			want := map[string]string{"step.crash": "skipped", "step.panic": "skipped", "step.hang": "skipped",
				"step." + name: "failed", "step.cleanup": "ok", "step.always": "ok"}
			for step, status := range want {
				if e, _ := stepEvent(evs, "step_finished", step); e.Status != status {
					t.Errorf("%s = %+v, want %s", step, e, status)
				}
			}
			if e := runFinished(t, evs); e.Status != "failed" {
				t.Errorf("run_finished = %+v", e)
			}
			wantFile(t, filepath.Join(dir, "on_failure.marker"), true)
			wantFile(t, filepath.Join(dir, "finally.marker"), true)
			wantNoLeftovers(t, dir)
		})
	}
}

// TestHangNamesPlugin: a plugin that hangs past the step's timeout fails
// the step (a run failure, exit 4) with an error naming the plugin.
func TestHangNamesPlugin(t *testing.T) {
	dir := project(t, "crashy")
	installLocked(t, crashyBin, dir)
	r := zrun(t, dir, nil, "workflow", "misbehave", "--param", "what=hang", "--output", "json")
	wantCode(t, r, 4)
	bad, _ := stepEvent(parseEvents(t, r.stdout), "step_finished", "step.hang")
	wantContains(t, "step.hang's error", bad.Error, `plugin "crashy"`, "timed out")
	wantNoLeftovers(t, dir)
}
