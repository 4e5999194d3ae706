package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	wantContains(t, "stdout", r.stdout, "greet  0.1.0    external  hello")

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

// TestPluginPath finds greet through $ZRUN_PLUGIN_PATH.
func TestPluginPath(t *testing.T) {
	t.Parallel()
	dir := project(t, "greet")
	pathDir := t.TempDir()
	installPlugin(t, greetBin, pathDir)

	r := zrun(t, dir, nil, "workflow", "hi")
	wantCode(t, r, 3)
	wantContains(t, "stderr", oneLine(r.stderr), `unknown plugin "greet"`)

	r = zrun(t, dir, []string{"ZRUN_PLUGIN_PATH=" + t.TempDir() + string(os.PathListSeparator) + pathDir}, "workflow", "hi")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, `message = "HELLO, OPS!"`)
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
			installPlugin(t, crashyBin, filepath.Join(dir, ".zrun", "plugins"))
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
	installPlugin(t, crashyBin, filepath.Join(dir, ".zrun", "plugins"))
	r := zrun(t, dir, nil, "workflow", "misbehave", "--param", "what=hang", "--output", "json")
	wantCode(t, r, 4)
	bad, _ := stepEvent(parseEvents(t, r.stdout), "step_finished", "step.hang")
	wantContains(t, "step.hang's error", bad.Error, `plugin "crashy"`, "timed out")
	wantNoLeftovers(t, dir)
}
