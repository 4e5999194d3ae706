package plugins_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
)

// lock locks every external plugin opts finds, as `zrun plugins lock`.
func lock(t *testing.T, opts plugins.Options) *plugins.LockFile {
	t.Helper()
	lf, err := plugins.Lock(t.Context(), newManager(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lf
}

// wantErr fails unless err's message holds every one of want.
func wantErr(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one with %q", what, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not hold %q", what, err, w)
		}
	}
}

// schemaErr asks m for a plugin's schema, as validation does first.
func schemaErr(t *testing.T, m *plugins.Manager, name string) error {
	c, err := m.Client(t.Context(), name)
	if err != nil {
		return err
	}
	_, err = c.GetSchema(t.Context())
	return err
}

// rebuild replaces the plugin at path with other content; sameStat keeps
// its size and modification time, so that only its content tells it from
// the old build.
func rebuild(t *testing.T, path string, tail string, sameStat bool) {
	t.Helper()
	old, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", append(data, tail...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Add(time.Minute)
	if sameStat {
		mtime = old.ModTime()
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestLockAfterRebuild: after a plugin is rebuilt, running it is refused
// with the advice to run `zrun plugins lock`, and that lock, with the
// answer cache on, asks the new build (not the cache) and records it;
// the plugin then runs.
func TestLockAfterRebuild(t *testing.T) {
	for name, sameStat := range map[string]bool{"new build": false, "same size and time": true} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("TESTPLUGIN_VERSION", "1.2.0")
			dir := t.TempDir()
			path := install(t, filepath.Join(dir, "plugins"), "beta")
			rebuild(t, path, "build 1", false)
			opts := plugins.Options{SearchDirs: []string{filepath.Dir(path)}, CacheDir: filepath.Join(dir, "cache")}
			opts.Lock = lock(t, opts)
			validate(t, opts, "beta", checkedReq(cty.StringVal("good"))) // fills the cache

			rebuild(t, path, "build 2", sameStat)
			t.Setenv("TESTPLUGIN_VERSION", "1.3.0")
			c := mustClient(t, newManager(t, opts), "beta")
			_, err := run(t.Context(), c, "pid", cty.EmptyObjectVal)
			wantErr(t, "the rebuilt plugin", err, `plugin "beta"`, "checksum", `run "zrun plugins lock"`)

			lf, err := plugins.Lock(t.Context(), newManager(t, opts), nil)
			if err != nil {
				t.Fatalf("zrun plugins lock refused: %v", err)
			}
			old, got := opts.Lock.Plugins["beta"], lf.Plugins["beta"]
			if got == nil || got.Version != "1.3.0" || got.SHA256 == old.SHA256 || len(got.SHA256) != 64 {
				t.Fatalf("new lock entry %+v, old %+v: want version 1.3.0 and a new checksum", got, old)
			}
			opts.Lock = lf
			c = mustClient(t, newManager(t, opts), "beta")
			if _, err := run(t.Context(), c, "pid", cty.EmptyObjectVal); err != nil {
				t.Fatalf("the newly locked plugin: %v", err)
			}
		})
	}
}

// TestLockIgnoresOldLock: the lock a Manager was given, right or wrong,
// never stops Lock.
func TestLockIgnoresOldLock(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "beta")
	opts := plugins.Options{SearchDirs: []string{dir}, CacheDir: filepath.Join(dir, "cache"),
		Lock:     &plugins.LockFile{Plugins: map[string]*plugins.LockedPlugin{"beta": {Name: "beta", Version: "0.0.1", SHA256: "00"}}},
		Required: map[string]string{"beta": "< 1.0"}}
	if _, err := plugins.Lock(t.Context(), newManager(t, opts), map[string]string{"beta": ">= 1.0"}); err != nil {
		t.Fatal(err)
	}
}

// TestRequiredPluginNeedsLock: an external plugin with no lock entry,
// required or not, with or without a lock file and whatever the cache
// holds, is refused with the command that records it, and never starts.
func TestRequiredPluginNeedsLock(t *testing.T) {
	dir := t.TempDir()
	path := install(t, filepath.Join(dir, "plugins"), "beta")
	opts := plugins.Options{SearchDirs: []string{filepath.Dir(path)}, CacheDir: filepath.Join(dir, "cache"), Unlocked: true}
	validate(t, opts, "beta", checkedReq(cty.StringVal("good"))) // a cache of the unlocked plugin
	tests := map[string]struct {
		lock *plugins.LockFile
		want string
	}{
		"no lock file": {want: `there is no zrun.lock.hcl yet: run "zrun plugins lock" to record it`},
		"not in it":    {lock: &plugins.LockFile{Plugins: map[string]*plugins.LockedPlugin{}}, want: `; run "zrun plugins lock" to record it`},
	}
	for name, tc := range tests {
		for _, cache := range []string{"", opts.CacheDir} {
			m := newManager(t, plugins.Options{SearchDirs: opts.SearchDirs, CacheDir: cache, Lock: tc.lock, Required: map[string]string{"beta": ">= 1.0"}})
			err := schemaErr(t, m, "beta")
			wantErr(t, name+", cache "+cache, err, `plugin "beta" at `+path+` is not in zrun.lock.hcl`, tc.want)
			if starts := m.Starts(); len(starts) != 0 {
				t.Errorf("%s: the unlocked plugin started: %v", name, starts)
			}
		}
	}
}

// TestVersionConstraintAtStart: required_plugins' constraints hold on
// every start, against the lock file and against the version the plugin
// reports, with and without the answer cache.
func TestVersionConstraintAtStart(t *testing.T) {
	dir := t.TempDir()
	install(t, filepath.Join(dir, "plugins"), "beta")
	base := plugins.Options{SearchDirs: []string{filepath.Join(dir, "plugins")}}
	lf := lock(t, base) // version 1.2.0
	edited := &plugins.LockFile{Plugins: map[string]*plugins.LockedPlugin{"beta": {Name: "beta", Version: "2.5.0", SHA256: lf.Plugins["beta"].SHA256}}}
	tests := map[string]struct {
		lock     *plugins.LockFile
		required string
		want     string
	}{
		"met":                 {lock: lf, required: ">= 1.0, < 2.0"},
		"locked version":      {lock: lf, required: ">= 2.0", want: `plugin "beta" is locked at version 1.2.0 in zrun.lock.hcl, but the project requires >= 2.0`},
		"reported version":    {lock: edited, required: ">= 2.0", want: `is version 1.2.0, but the project requires >= 2.0`},
		"lock says otherwise": {lock: edited, want: `reports version 1.2.0 but zrun.lock.hcl records 2.5.0`},
		"invalid constraint":  {lock: lf, required: "~> banana", want: `invalid version constraint "~> banana" in required_plugins`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cacheDir := t.TempDir()
			for _, cache := range []string{"", cacheDir, cacheDir} { // the last answers from the cache
				opts := base
				opts.Lock, opts.Required, opts.CacheDir = tc.lock, map[string]string{"beta": tc.required}, cache
				if tc.want != "" {
					// Fill the cache as an older, satisfied zrun would have.
					o := opts
					o.Required, o.Lock = nil, lf
					validate(t, o, "beta", checkedReq(cty.StringVal("good")))
				}
				err := schemaErr(t, newManager(t, opts), "beta")
				if tc.want == "" {
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				wantErr(t, "cache "+cache, err, tc.want)
			}
		})
	}
}

// TestNotRegularFiles: a FIFO or a link to /dev/zero where the lock file,
// a cache file or a plugin should be is an error or skipped, never a
// hang.
func TestNotRegularFiles(t *testing.T) {
	fifo := func(t *testing.T, path string) {
		t.Helper()
		_ = os.Remove(path)
		if err := syscall.Mkfifo(path, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	devZero := func(t *testing.T, path string) {
		t.Helper()
		_ = os.Remove(path)
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	}
	within := func(t *testing.T, what string, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s hangs", what)
		}
	}
	for name, mk := range map[string]func(*testing.T, string){"fifo": fifo, "/dev/zero": devZero} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, plugins.LockFileName)
			mk(t, path)
			within(t, "reading the lock file", func() {
				_, diags := plugins.ReadLock(path)
				if !diags.HasErrors() || !strings.Contains(diags.Error(), "is not a regular file") ||
					!strings.Contains(diags.Error(), `run "zrun plugins lock"`) {
					t.Errorf("got %v", diags)
				}
			})

			odd := filepath.Join(dir, "odd-plugins")
			mk(t, odd)
			within(t, "discovery in a plugin folder that is not one", func() {
				_, err := plugins.Discover([]string{odd})
				wantErr(t, "discovery", err, odd)
			})

			plugDir := filepath.Join(dir, "plugins")
			install(t, plugDir, "beta")
			mk(t, filepath.Join(plugDir, "zrun-plugin-odd"))
			opts := plugins.Options{SearchDirs: []string{plugDir}, CacheDir: filepath.Join(dir, "cache")}
			within(t, "discovery and locking", func() {
				opts.Lock = lock(t, opts)
				if _, ok := opts.Lock.Plugins["odd"]; ok {
					t.Error("a FIFO or device was taken for a plugin")
				}
			})
			validate(t, opts, "beta", checkedReq(cty.StringVal("good")))
			files, _ := filepath.Glob(filepath.Join(opts.CacheDir, "beta-*.json"))
			if len(files) != 1 {
				t.Fatalf("cache files: %v", files)
			}
			mk(t, files[0])
			within(t, "reading the answer cache", func() {
				_, starts := validate(t, opts, "beta", checkedReq(cty.StringVal("good")))
				if starts["beta"] != 1 {
					t.Errorf("starts %v: the unreadable cache was not ignored", starts)
				}
			})
			if info, err := os.Lstat(files[0]); err != nil || !info.Mode().IsRegular() {
				t.Errorf("the cache file was not rewritten: %v, %v", info, err)
			}
		})
	}
}

// TestLockFileNesting: deep nesting or a long chain of operators in the
// lock file is one located diagnostic, before HCL's parser recurses.
func TestLockFileNesting(t *testing.T) {
	tests := map[string]string{
		"brackets":  "plugin \"a\" {\n  version = " + strings.Repeat("[", 100000) + "\n}\n",
		"parens":    "plugin \"a\" {\n  version = " + strings.Repeat("(", 100000) + "1\n}\n",
		"templates": "plugin \"a\" {\n  version = " + strings.Repeat(`"${`, 50000) + "\n}\n",
		"operators": "plugin \"a\" {\n  version = " + strings.Repeat("!", 500000) + "true\n}\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := plugins.ParseLock("zrun.lock.hcl", []byte(src))
			if len(diags) != 1 || diags[0].Summary != "Lock file too deeply nested" || diags[0].Subject == nil ||
				diags[0].Subject.Start.Line != 2 {
				t.Fatalf("got %v", diags)
			}
		})
	}
	path := filepath.Join(t.TempDir(), plugins.LockFileName)
	if err := os.WriteFile(path, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := plugins.ReadLock(path); !diags.HasErrors() || !strings.Contains(diags.Error(), "is larger than 1 MiB") {
		t.Errorf("a huge lock file: %v", diags)
	}
}

// TestLockTakesEveryPlugin: a plugin a workflow uses but zrun.hcl does
// not require is locked too, else the advice to run `zrun plugins lock`
// would not mend its refusal.
func TestLockTakesEveryPlugin(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "beta")
	install(t, dir, "gamma")
	opts := plugins.Options{SearchDirs: []string{dir}}
	lf, err := plugins.Lock(t.Context(), newManager(t, opts), map[string]string{"beta": ">= 1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if lf.Plugins["beta"] == nil || lf.Plugins["gamma"] == nil || len(lf.Plugins) != 2 {
		t.Fatalf("locked %v, want beta and gamma", lf.Plugins)
	}
	opts.Lock, opts.Required = lf, map[string]string{"beta": ">= 1.0"}
	if err := schemaErr(t, newManager(t, opts), "gamma"); err != nil {
		t.Errorf("the unrequired plugin, locked: %v", err)
	}
}

// TestClientErrorIsNil: a refused or unknown plugin's Client is a nil
// interface, which callers may test, not a nil pointer inside one.
func TestClientErrorIsNil(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "beta")
	m := newManager(t, plugins.Options{SearchDirs: []string{dir}})
	for _, name := range []string{"beta", "nope"} {
		c, err := m.Client(t.Context(), name)
		if err == nil || c != nil {
			t.Errorf("%s: got %#v, %v; want nil and an error", name, c, err)
		}
	}
}
