package ssh

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

func TestDownloadFile(t *testing.T) {
	remote, dir := t.TempDir(), t.TempDir()
	writeTree(t, remote, map[string]string{"app.log": "line 1\nline 2\n"})
	if err := os.Chmod(filepath.Join(remote, "app.log"), 0o640); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "app.log")
	res := localStep().run(t, "download", map[string]any{"src": filepath.Join(remote, "app.log"), "dest": dest}).ok(t)
	if got := readFile(t, dest); got != "line 1\nline 2\n" || perm(t, dest) != 0o640 {
		t.Errorf("dest holds %q, mode %o", got, perm(t, dest))
	}
	if res.num("files") != 1 || res.num("bytes") != 14 {
		t.Errorf("outputs = %#v", res.outputs)
	}
	localStep().run(t, "download", map[string]any{"src": filepath.Join(remote, "app.log"), "dest": dest, "mode": "0600"}).ok(t)
	if got := perm(t, dest); got != 0o600 {
		t.Errorf("mode %o, want 0600", got)
	}
	// A symbolic link is downloaded as its file, with the default mode.
	if err := os.Symlink("app.log", filepath.Join(remote, "current.log")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "current.log")
	localStep().run(t, "download", map[string]any{"src": filepath.Join(remote, "current.log"), "dest": link}).ok(t)
	if got := readFile(t, link); got != "line 1\nline 2\n" || perm(t, link) != 0o644 {
		t.Errorf("the link's download holds %q, mode %o", got, perm(t, link))
	}
	if got := names(t, dir); !cmp.Equal(got, []string{"app.log", "current.log"}) {
		t.Errorf("dest's folder holds %q", got)
	}
}

func TestDownloadFolder(t *testing.T) {
	remote, dest := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	tree := map[string]string{"a.conf": "a", "conf.d/b.conf": "bb", "conf.d/deep/c": "ccc"}
	writeTree(t, remote, tree)
	if err := os.Symlink("a.conf", filepath.Join(remote, "link")); err != nil {
		t.Fatal(err)
	}
	res := localStep().run(t, "download", map[string]any{"src": remote, "dest": dest}).ok(t)
	if diff := cmp.Diff(tree, readTree(t, dest)); diff != "" {
		t.Errorf("downloaded tree (-want +got), links inside are not followed:\n%s", diff)
	}
	if res.num("files") != 3 || res.num("bytes") != 6 {
		t.Errorf("outputs = %#v", res.outputs)
	}
}

func TestDownloadStream(t *testing.T) {
	remote := t.TempDir()
	data := strings.Repeat("0123456789abcdef", 1<<16)
	writeTree(t, remote, map[string]string{"big": data})
	out := &buffer{}
	s := localStep()
	s.out = map[string]io.WriteCloser{"stream": out}
	res := s.run(t, "download", map[string]any{"src": filepath.Join(remote, "big")}).ok(t)
	if out.String() != data || !out.closed {
		t.Errorf("the stream got %d bytes (closed %v), want %d", out.Len(), out.closed, len(data))
	}
	if res.num("bytes") != int64(len(data)) || !res.outputs.GetAttr("stream").IsNull() {
		t.Errorf("outputs = %#v", res.outputs)
	}

	// Both a file and the stream.
	out = &buffer{}
	s.out = map[string]io.WriteCloser{"stream": out}
	dest := filepath.Join(t.TempDir(), "big")
	s.run(t, "download", map[string]any{"src": filepath.Join(remote, "big"), "dest": dest}).ok(t)
	if out.String() != data || readFile(t, dest) != data {
		t.Errorf("the stream got %d bytes and dest %d, want %d", out.Len(), len(readFile(t, dest)), len(data))
	}
}

// TestDownloadAtomic: a download cut off halfway leaves the local file as
// it was, and no temporary file.
func TestDownloadAtomic(t *testing.T) {
	remote, dir := t.TempDir(), t.TempDir()
	writeTree(t, remote, map[string]string{"f": strings.Repeat("new", 1<<16)})
	writeTree(t, dir, map[string]string{"f": "old"})
	s := onTarget(failingOpen{localStep().target, 1000})
	err := s.run(t, "download", map[string]any{"src": filepath.Join(remote, "f"), "dest": filepath.Join(dir, "f")}).err()
	if err == nil || !strings.Contains(err.Error(), "connection dropped") {
		t.Fatalf("error = %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "f")); got != "old" {
		t.Errorf("dest holds %d bytes, want the old content", len(got))
	}
	if got := names(t, dir); !cmp.Equal(got, []string{"f"}) {
		t.Errorf("the folder holds %q", got)
	}
}

func TestDownloadErrors(t *testing.T) {
	remote := t.TempDir()
	writeTree(t, remote, map[string]string{"f": "x"})
	tests := map[string]struct {
		args    map[string]any
		stream  bool
		summary string
		path    cty.Path
	}{
		"relative src":     {args: map[string]any{"src": "var/log/x", "dest": "x"}, summary: "Relative path on the target", path: cty.GetAttrPath("src")},
		"empty dest":       {args: map[string]any{"src": "/x", "dest": ""}, summary: "Empty destination", path: cty.GetAttrPath("dest")},
		"bad mode":         {args: map[string]any{"src": "/x", "dest": "x", "mode": "8"}, summary: "Invalid mode", path: cty.GetAttrPath("mode")},
		"nowhere":          {args: map[string]any{"src": filepath.Join(remote, "f")}, summary: "Nowhere to download to", path: cty.GetAttrPath("dest")},
		"folder to stream": {args: map[string]any{"src": remote}, stream: true, summary: "Cannot stream a folder", path: cty.GetAttrPath("src")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := localStep()
			if tc.stream {
				s.out = map[string]io.WriteCloser{"stream": &buffer{}}
			}
			s.run(t, "download", tc.args).wantErr(t, tc.summary, tc.path)
		})
	}
	t.Run("missing src", func(t *testing.T) {
		err := localStep().run(t, "download", map[string]any{"src": filepath.Join(remote, "nope"), "dest": filepath.Join(t.TempDir(), "x")}).err()
		if err == nil || !strings.Contains(err.Error(), "download "+filepath.Join(remote, "nope")+" from local") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestDownloadPlan(t *testing.T) {
	resp, diags := onTarget(named{localStep().target, "db1"}).plan(t, "download", map[string]any{"src": "/var/backups/db.dump"})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if want := []string{"download /var/backups/db.dump from db1 to the stream output"}; !cmp.Equal(resp.Changes, want) {
		t.Errorf("changes = %q", resp.Changes)
	}
}
