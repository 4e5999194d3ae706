package plugins_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk"
)

func checkedReq(v cty.Value) *sdk.ValidateRequest {
	return &sdk.ValidateRequest{Action: "checked", Args: cty.ObjectVal(map[string]cty.Value{"value": v})}
}

// validate asks a fresh Manager on cacheDir for the schema and for the
// validation of reqs, and returns the summaries and the process starts.
func validate(t *testing.T, opts plugins.Options, name string, reqs ...*sdk.ValidateRequest) ([][]string, map[string]int) {
	t.Helper()
	m := newManager(t, opts)
	defer m.Close()
	c := mustClient(t, m, name)
	s, err := c.GetSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Actions["checked"]; !ok {
		t.Fatalf("schema has no action checked: %v", s.ActionNames())
	}
	all, err := c.ValidateActions(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, diags := range all {
		var sums []string
		for _, d := range diags {
			sums = append(sums, fmt.Sprintf("%s at %#v", d.Summary, d.Path))
		}
		got = append(got, sums)
	}
	return got, m.Starts()
}

// TestAnswerCache: a plugin's schema and validations are kept by the
// executable's identity; an unchanged plugin is not started again, a
// changed one is, and so is one asked something new.
func TestAnswerCache(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "validations")
	t.Setenv("TESTPLUGIN_VALIDATIONS", counter)
	calls := func() int {
		b, _ := os.ReadFile(counter)
		return strings.Count(string(b), "validate\n")
	}
	dir := t.TempDir()
	path := install(t, filepath.Join(dir, "plugins"), "beta")
	opts := plugins.Options{SearchDirs: []string{filepath.Dir(path)}, CacheDir: filepath.Join(dir, "cache")}
	opts.Lock = lock(t, opts)
	good, bad := checkedReq(cty.StringVal("good")), checkedReq(cty.StringVal("bad"))
	want := [][]string{nil, {fmt.Sprintf("Bad value at %#v", cty.GetAttrPath("value"))}}

	got, starts := validate(t, opts, "beta", good, bad)
	if diff := cmp.Diff(want, got); diff != "" || starts["beta"] != 1 || calls() != 2 {
		t.Fatalf("first: starts %v, validations %d, diagnostics (-want +got):\n%s", starts, calls(), diff)
	}
	got, starts = validate(t, opts, "beta", good, bad)
	if diff := cmp.Diff(want, got); diff != "" || len(starts) != 0 || calls() != 2 {
		t.Fatalf("unchanged: starts %v (want none), validations %d (want 2), diagnostics (-want +got):\n%s", starts, calls(), diff)
	}

	// Something new starts the plugin for that alone.
	got, starts = validate(t, opts, "beta", bad, checkedReq(cty.StringVal("new")))
	if diff := cmp.Diff([][]string{want[1], nil}, got); diff != "" || starts["beta"] != 1 || calls() != 3 {
		t.Fatalf("new call: starts %v, validations %d (want 3), diagnostics (-want +got):\n%s", starts, calls(), diff)
	}

	// A sensitive argument is never kept, not even as a digest.
	secret := checkedReq(cty.StringVal("hunter2").Mark(sdk.Sensitive))
	validate(t, opts, "beta", secret)
	_, starts = validate(t, opts, "beta", secret)
	if starts["beta"] != 1 || calls() != 5 {
		t.Fatalf("sensitive: starts %v, validations %d (want 5): a sensitive call was answered from the cache", starts, calls())
	}

	// A rebuilt plugin (here: a new modification time) is another identity.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	_, starts = validate(t, opts, "beta", good)
	if starts["beta"] != 1 || calls() != 6 {
		t.Fatalf("rebuilt: starts %v, validations %d (want 6)", starts, calls())
	}
	files, _ := filepath.Glob(filepath.Join(opts.CacheDir, "beta-*.json"))
	if len(files) != 1 {
		t.Errorf("cache files of older builds are kept: %v", files)
	}

	// A damaged cache file is ignored and rewritten.
	if err := os.WriteFile(files[0], []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, starts = validate(t, opts, "beta", good)
	if starts["beta"] != 1 || calls() != 7 {
		t.Fatalf("damaged: starts %v, validations %d (want 7)", starts, calls())
	}
	if _, starts = validate(t, opts, "beta", good); len(starts) != 0 {
		t.Fatalf("after rewrite: starts %v, want none", starts)
	}
}

// TestAnswerCacheAndLock: a plugin the lock file does not list, or no
// longer matches, is refused even when its answers are cached.
func TestAnswerCacheAndLock(t *testing.T) {
	dir := t.TempDir()
	path := install(t, filepath.Join(dir, "plugins"), "beta")
	opts := plugins.Options{SearchDirs: []string{filepath.Dir(path)}, CacheDir: filepath.Join(dir, "cache"), Unlocked: true}
	validate(t, opts, "beta", checkedReq(cty.StringVal("good")))

	opts.Unlocked = false
	for name, lf := range map[string]*plugins.LockFile{"no lock file": nil, "not in it": {Plugins: map[string]*plugins.LockedPlugin{}}} {
		opts.Lock = lf
		m := newManager(t, opts)
		c := mustClient(t, m, "beta")
		if _, err := c.GetSchema(t.Context()); err == nil || !strings.Contains(err.Error(), "is not in") {
			t.Errorf("%s: got %v, want it refused", name, err)
		}
		if _, err := c.ValidateActions(t.Context(), []*sdk.ValidateRequest{checkedReq(cty.StringVal("good"))}); err == nil {
			t.Errorf("%s: validation answered from the cache", name)
		}
	}
}
