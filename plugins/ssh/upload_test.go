package ssh

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

func TestUploadFile(t *testing.T) {
	src, dest := filepath.Join(t.TempDir(), "app.conf"), filepath.Join(t.TempDir(), "app.conf")
	writeTree(t, filepath.Dir(src), map[string]string{"app.conf": "port = 8080\n"})
	if err := os.Chmod(src, 0o750); err != nil {
		t.Fatal(err)
	}

	res := localStep().run(t, "upload", map[string]any{"src": src, "dest": dest}).ok(t)
	if !res.boolean("changed") || res.num("files") != 1 || res.num("bytes") != 12 {
		t.Errorf("outputs = %#v", res.outputs)
	}
	if got := readFile(t, dest); got != "port = 8080\n" {
		t.Errorf("dest holds %q", got)
	}
	if got := perm(t, dest); got != 0o750 {
		t.Errorf("mode %o, want the source's 0750", got)
	}

	localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "mode": "0600"}).ok(t)
	if got := perm(t, dest); got != 0o600 {
		t.Errorf("mode %o, want 0600", got)
	}
	if got := names(t, filepath.Dir(dest)); !cmp.Equal(got, []string{"app.conf"}) {
		t.Errorf("dest's folder holds %q", got)
	}
}

func TestUploadOwner(t *testing.T) {
	if !isRoot() {
		t.Skip("chown needs root")
	}
	src, dest := filepath.Join(t.TempDir(), "f"), filepath.Join(t.TempDir(), "f")
	writeTree(t, filepath.Dir(src), map[string]string{"f": "x"})
	localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "owner": "nobody", "group": "65534"}).ok(t)
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owned by %d:%d, want nobody (65534)", st.Uid, st.Gid)
	}
	// skip_unchanged resolves the name to compare it with the file's owner.
	res := localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "owner": "nobody", "group": "65534", "skip_unchanged": true}).ok(t)
	if res.boolean("changed") || res.num("unchanged") != 1 {
		t.Errorf("outputs = %#v, want the file unchanged", res.outputs)
	}
	res = localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "owner": "root", "skip_unchanged": true}).ok(t)
	if !res.boolean("changed") {
		t.Errorf("a new owner did not rewrite the file: %#v", res.outputs)
	}
}

func TestUploadFolder(t *testing.T) {
	src, dest := t.TempDir(), filepath.Join(t.TempDir(), "site")
	tree := map[string]string{"index.html": "<h1>hi</h1>", "css/app.css": "body{}", "js/lib/x.js": "x()", "empty.txt": ""}
	writeTree(t, src, tree)
	if err := os.Symlink("index.html", filepath.Join(src, "home.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("css", filepath.Join(src, "styles")); err != nil {
		t.Fatal(err)
	}

	res := localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "dir_mode": "0750"}).ok(t)
	want := map[string]string{"home.html": "<h1>hi</h1>"}
	for k, v := range tree {
		want[k] = v
	}
	if diff := cmp.Diff(want, readTree(t, dest)); diff != "" {
		t.Errorf("uploaded tree (-want +got):\n%s", diff)
	}
	if res.num("files") != 5 || !res.boolean("changed") {
		t.Errorf("outputs = %#v", res.outputs)
	}
	if got := perm(t, filepath.Join(dest, "js", "lib")); got != 0o750 {
		t.Errorf("folder mode %o, want 0750", got)
	}

	// Again with skip_unchanged: only the file that changed is written.
	writeTree(t, src, map[string]string{"css/app.css": "body{color:red}"})
	res = localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "skip_unchanged": true}).ok(t)
	if res.num("files") != 1 || res.num("unchanged") != 4 || res.num("bytes") != 15 {
		t.Errorf("outputs = %#v, want 1 file written and 4 unchanged", res.outputs)
	}
	if got := readFile(t, filepath.Join(dest, "css", "app.css")); got != "body{color:red}" {
		t.Errorf("app.css holds %q", got)
	}
	// Same size, other content: still rewritten.
	writeTree(t, src, map[string]string{"js/lib/x.js": "y()"})
	res = localStep().run(t, "upload", map[string]any{"src": src, "dest": dest, "skip_unchanged": true}).ok(t)
	if res.num("files") != 1 || readFile(t, filepath.Join(dest, "js", "lib", "x.js")) != "y()" {
		t.Errorf("a same-size change was skipped: %#v", res.outputs)
	}
}

func TestUploadStream(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "dump.sql")
	data := strings.Repeat("INSERT INTO t VALUES (1);\n", 100_000)
	in := &pipe{Reader: strings.NewReader(data)}
	s := localStep()
	s.in = map[string]io.ReadCloser{"from": in}
	res := s.run(t, "upload", map[string]any{"from": "pipe:1", "dest": dest, "mode": "0640"}).ok(t)
	if got := readFile(t, dest); got != data {
		t.Errorf("dest holds %d bytes, want %d", len(got), len(data))
	}
	if res.num("bytes") != int64(len(data)) || perm(t, dest) != 0o640 || !in.closed {
		t.Errorf("outputs %#v, mode %o, stream closed %v", res.outputs, perm(t, dest), in.closed)
	}
	if len(res.Progress) == 0 || res.Progress[len(res.Progress)-1].Done != int64(len(data)) {
		t.Errorf("progress = %v", res.Progress)
	}
}

// TestUploadAtomic: a stream that fails halfway (its producer failed)
// publishes nothing: the old file stays, and no temporary file is left.
func TestUploadAtomic(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "app.bin")
	writeTree(t, dir, map[string]string{"app.bin": "old"})
	s := localStep()
	s.in = map[string]io.ReadCloser{"from": &pipe{Reader: io.MultiReader(strings.NewReader(strings.Repeat("new", 1<<16)), errReader{errConnDropped})}}
	err := s.run(t, "upload", map[string]any{"from": "pipe:1", "dest": dest}).err()
	if err == nil || !strings.Contains(err.Error(), "connection dropped") || !strings.Contains(err.Error(), "nothing published") {
		t.Fatalf("error = %v", err)
	}
	if got := readFile(t, dest); got != "old" {
		t.Errorf("dest holds %q, want the old content", got[:min(len(got), 20)])
	}
	if got := names(t, dir); !cmp.Equal(got, []string{"app.bin"}) {
		t.Errorf("the folder holds %q", got)
	}
}

func TestUploadErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f": "x", "sub/g": "y"})
	tests := map[string]struct {
		args    map[string]any
		summary string
		path    cty.Path
	}{
		"relative dest":        {args: map[string]any{"src": filepath.Join(dir, "f"), "dest": "etc/f"}, summary: "Relative path on the target", path: cty.GetAttrPath("dest")},
		"both sources":         {args: map[string]any{"src": "f", "from": "pipe:1", "dest": "/x"}, summary: "Conflicting arguments", path: cty.GetAttrPath("from")},
		"no source":            {args: map[string]any{"dest": "/x"}, summary: "Missing source", path: cty.GetAttrPath("src")},
		"bad mode":             {args: map[string]any{"src": "f", "dest": "/x", "mode": "0999"}, summary: "Invalid mode", path: cty.GetAttrPath("mode")},
		"setuid mode":          {args: map[string]any{"src": "f", "dest": "/x", "mode": "4755"}, summary: "Invalid mode", path: cty.GetAttrPath("mode")},
		"bad dir mode":         {args: map[string]any{"src": "f", "dest": "/x", "dir_mode": "rwx"}, summary: "Invalid mode", path: cty.GetAttrPath("dir_mode")},
		"empty owner":          {args: map[string]any{"src": "f", "dest": "/x", "owner": ""}, summary: "Empty owner", path: cty.GetAttrPath("owner")},
		"skip with a stream":   {args: map[string]any{"from": "pipe:1", "dest": "/x", "skip_unchanged": true}, summary: "Cannot skip an unchanged stream", path: cty.GetAttrPath("skip_unchanged")},
		"missing src":          {args: map[string]any{"src": filepath.Join(dir, "nope"), "dest": "/tmp/x"}, summary: "Source not found", path: cty.GetAttrPath("src")},
		"dest is a folder":     {args: map[string]any{"src": filepath.Join(dir, "f"), "dest": filepath.Join(dir, "sub")}, summary: "Destination is a folder", path: cty.GetAttrPath("dest")},
		"stream argument null": {args: map[string]any{"from": "pipe:1", "dest": filepath.Join(dir, "s")}, summary: "No stream", path: cty.GetAttrPath("from")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			localStep().run(t, "upload", tc.args).wantErr(t, tc.summary, tc.path)
		})
	}
	t.Run("missing parent folder", func(t *testing.T) {
		err := localStep().run(t, "upload", map[string]any{"src": filepath.Join(dir, "f"), "dest": filepath.Join(dir, "no", "such", "f")}).err()
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "no", "such", "f")) {
			t.Errorf("error = %v", err)
		}
	})
}

func TestUploadPlan(t *testing.T) {
	src, dir := t.TempDir(), t.TempDir()
	writeTree(t, src, map[string]string{"a": "12345", "b/c": "678"})
	writeTree(t, dir, map[string]string{"a": "12345"})
	if err := os.Chmod(filepath.Join(src, "a"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args   map[string]any
		want   []string
		noop   bool
		errMsg string
	}{
		"create":     {args: map[string]any{"src": filepath.Join(src, "a"), "dest": filepath.Join(dir, "new")}, want: []string{"create " + filepath.Join(dir, "new") + " on web1 from " + filepath.Join(src, "a") + " (5 B)"}},
		"replace":    {args: map[string]any{"src": filepath.Join(src, "b", "c"), "dest": filepath.Join(dir, "a")}, want: []string{"replace " + filepath.Join(dir, "a") + " on web1 from " + filepath.Join(src, "b", "c") + " (3 B)"}},
		"up to date": {args: map[string]any{"src": filepath.Join(src, "a"), "dest": filepath.Join(dir, "a"), "skip_unchanged": true}, want: []string{filepath.Join(dir, "a") + " on web1 is up to date"}, noop: true},
		"folder":     {args: map[string]any{"src": src, "dest": "/srv/x"}, want: []string{"upload 2 files (8 B) from " + src + " into /srv/x on web1"}},
		"stream":     {args: map[string]any{"from": cty.UnknownVal(cty.String), "dest": "/srv/x"}, want: []string{"upload a stream to /srv/x on web1"}},
		"missing":    {args: map[string]any{"src": filepath.Join(src, "zz"), "dest": "/srv/x"}, errMsg: "Source not found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, diags := onTarget(named{localStep().target, "web1"}).plan(t, "upload", tc.args)
			if tc.errMsg != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), tc.errMsg) {
					t.Fatalf("diagnostics = %v", diags.Err())
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			if diff := cmp.Diff(tc.want, resp.Changes); diff != "" || resp.NoOp != tc.noop {
				t.Errorf("NoOp %v; changes (-want +got):\n%s", resp.NoOp, diff)
			}
		})
	}
}
