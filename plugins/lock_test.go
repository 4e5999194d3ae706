package plugins_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/plugins"
)

func TestLockFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), plugins.LockFileName)
	lf := &plugins.LockFile{Plugins: map[string]*plugins.LockedPlugin{
		"greet": {Name: "greet", Version: "0.1.0", SHA256: "aa11"},
		"db":    {Name: "db", Version: "2.0.0-beta.1", SHA256: "bb22"},
	}}
	if err := lf.Write(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `# This file is maintained by "zrun plugins lock". Commit it.

plugin "db" {
  version = "2.0.0-beta.1"
  sha256  = "bb22"
}

plugin "greet" {
  version = "0.1.0"
  sha256  = "aa11"
}
`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	got, diags := plugins.ReadLock(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if diff := cmp.Diff(lf, got, cmpopts.IgnoreFields(plugins.LockedPlugin{}, "Range")); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

func TestReadLockDiagnostics(t *testing.T) {
	tests := map[string]struct {
		src  string
		want []string // Summary and line of each diagnostic
	}{
		"missing attribute": {
			src:  "plugin \"a\" {\n  version = \"1.0.0\"\n}\n",
			want: []string{"Missing required argument:1"},
		},
		"duplicate": {
			src:  "plugin \"a\" {\n  version = \"1\"\n  sha256 = \"x\"\n}\nplugin \"a\" {\n  version = \"2\"\n  sha256 = \"y\"\n}\n",
			want: []string{"Duplicate plugin lock:5"},
		},
		"syntax": {
			src:  "plugin \"a\" {\n",
			want: []string{"Unclosed configuration block:1"},
		},
		"unknown block": {
			src:  "provider \"a\" {}\n",
			want: []string{"Unsupported block type:1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), plugins.LockFileName)
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := plugins.ReadLock(path)
			if diff := cmp.Diff(tc.want, summaries(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
	lf, diags := plugins.ReadLock(filepath.Join(t.TempDir(), "absent.hcl"))
	if lf != nil || diags != nil {
		t.Errorf("missing file: got %v, %v; want nil, nil", lf, diags)
	}
}

func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		out = append(out, fmt.Sprintf("%s:%d", d.Summary, line))
	}
	return out
}

func TestLockAndVerify(t *testing.T) {
	dir := t.TempDir()
	path := install(t, dir, "greet")
	opts := plugins.Options{Builtins: builtins("alpha"), SearchDirs: []string{dir}}

	tests := map[string]struct {
		required map[string]string
		wantErr  string
	}{
		"constraint met":    {required: map[string]string{"greet": ">= 1.0, < 2"}},
		"all found":         {required: nil},
		"constraint failed": {required: map[string]string{"greet": ">= 2.0"}, wantErr: `plugin "greet" at ` + path + ` is version 1.2.0, but the project requires >= 2.0`},
		"bad constraint":    {required: map[string]string{"greet": "~> banana"}, wantErr: `plugin "greet": invalid version constraint "~> banana"`},
		"builtin":           {required: map[string]string{"alpha": ""}, wantErr: `plugin "alpha" is built into zrun and is not locked`},
		"unknown":           {required: map[string]string{"nope": ""}, wantErr: `unknown plugin "nope"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lf, err := plugins.Lock(t.Context(), newManager(t, opts), tc.required)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := lf.Plugins["greet"]
			if got == nil || got.Version != "1.2.0" || len(got.SHA256) != 64 || len(lf.Plugins) != 1 {
				t.Fatalf("lock: %#v", lf.Plugins)
			}
		})
	}

	lf, err := plugins.Lock(t.Context(), newManager(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	locked := newManager(t, plugins.Options{SearchDirs: []string{dir}, Lock: lf})
	if _, err := locked.Client(t.Context(), "greet"); err != nil {
		t.Fatalf("locked plugin refused: %s", err)
	}

	// An upgrade behind the lock's back is refused, as is a plugin the lock
	// does not know.
	sum := lf.Plugins["greet"].SHA256
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", append(data, "upgraded"...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	install(t, dir, "other")
	m := newManager(t, plugins.Options{SearchDirs: []string{dir}, Lock: lf})
	_, err = m.Client(t.Context(), "greet")
	wantPrefix := `plugin "greet" at ` + path + ` has checksum `
	wantSuffix := ` but zrun.lock.hcl records ` + sum + `; if you upgraded it on purpose run "zrun plugins lock"`
	if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) || !strings.HasSuffix(err.Error(), wantSuffix) {
		t.Errorf("changed plugin: got %v", err)
	}
	_, err = m.Client(t.Context(), "other")
	if err == nil || !strings.Contains(err.Error(), `is not in zrun.lock.hcl; run "zrun plugins lock"`) {
		t.Errorf("unlocked plugin: got %v", err)
	}
	if got := m.Starts(); len(got) != 0 {
		t.Errorf("refused plugins were started: %v", got)
	}
}
