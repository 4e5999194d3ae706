package rclone

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rclone/rclone/fs"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// backends starts every backend the tests run against.
func backends(t *testing.T) []*backend {
	s3b, _ := s3Backend(t)
	return []*backend{localBackend(t), sftpBackend(t), s3b}
}

// TestRoundTrip uploads a stream larger than a multipart chunk to each
// backend, downloads it, reads it back, writes and reads a manifest,
// lists and deletes.
func TestRoundTrip(t *testing.T) {
	data := randomBytes(t, 7<<20)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			p := path.Join(b.dir, "db", "2026-12-01T0300Z.dump")
			up := ok(t, run(t, "upload", args(b.remote, "from", "pipe:1", "path", p), sdktest.WithInput("from", bytes.NewReader(data))))
			sum := md5.Sum(data)
			if str(up, "sha256") != sha256Hex(data) || num(up, "bytes") != int64(len(data)) || str(up, "md5") != hex.EncodeToString(sum[:]) || str(up, "path") != p {
				t.Errorf("upload outputs = %#v", up.Outputs)
			}
			last := up.Progress[len(up.Progress)-1]
			if last.Done != int64(len(data)) || last.Total != 0 || !strings.Contains(last.Message, "/s") {
				t.Errorf("last progress = %+v", last)
			}

			down := ok(t, run(t, "download", args(b.remote, "path", p), sdktest.WithOutput("stream")))
			if got := down.Streams["stream"]; got != string(data) || str(down, "sha256") != sha256Hex(data) {
				t.Errorf("downloaded %d bytes, sha256 %s; want %d, %s", len(got), str(down, "sha256"), len(data), sha256Hex(data))
			}
			ok(t, run(t, "hash", args(b.remote, "path", p, "sha256", sha256Hex(data), "bytes", len(data))))

			manifest := path.Join(b.dir, "db", "2026-12-01T0300Z.dump.manifest.json")
			ok(t, run(t, "write", args(b.remote, "path", manifest, "content", `{"sha256":"`+sha256Hex(data)+`"}`)))
			if got := str(ok(t, run(t, "read", args(b.remote, "path", manifest))), "content"); got != `{"sha256":"`+sha256Hex(data)+`"}` {
				t.Errorf("read = %q", got)
			}

			listed := ok(t, run(t, "list", args(b.remote, "path", path.Join(b.dir, "db"))))
			var paths []string
			for _, o := range listed.Outputs.GetAttr("objects").AsValueSlice() {
				paths = append(paths, o.GetAttr("path").AsString())
			}
			if !cmp.Equal(paths, []string{p, manifest}) {
				t.Errorf("listed %q", paths)
			}
			matched := ok(t, run(t, "list", args(b.remote, "path", path.Join(b.dir, "db"), "match", `\.manifest\.json$`))).Outputs.GetAttr("objects").AsValueSlice()
			if len(matched) != 1 || matched[0].GetAttr("path").AsString() != manifest {
				t.Errorf("listed with match: %#v", matched)
			}
			if got := b.files(t); !cmp.Equal(got, []string{"db/2026-12-01T0300Z.dump", "db/2026-12-01T0300Z.dump.manifest.json"}) {
				t.Errorf("the remote holds %q", got)
			}

			ok(t, run(t, "delete", args(b.remote, "path", manifest)))
			if err := failed(t, run(t, "delete", args(b.remote, "path", manifest))); !strings.Contains(err.Error(), "no such object") {
				t.Errorf("deleting a missing object: %v", err)
			}
			if res := ok(t, run(t, "delete", args(b.remote, "path", manifest, "missing_ok", true))); res.Outputs.GetAttr("deleted").True() {
				t.Error("missing_ok delete says it deleted")
			}
		})
	}
}

// TestUploadFailedPipe: a stream that fails after more than a multipart
// chunk leaves, on each backend, the previous object untouched and
// nothing at a new path, with no partial file beside them.
func TestUploadFailedPipe(t *testing.T) {
	s3b, s3srv := s3Backend(t)
	crypted := localBackend(t)
	crypted.name = "crypt"
	crypted.remote = cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("crypt"), "password": cty.StringVal("h6 passphrase"),
		"remote": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("local"), "path": cty.StringVal(crypted.dir)})})
	raw := crypted.dir
	crypted.dir = ""
	crypted.files = func(t *testing.T) []string { return dirNames(t, raw) }
	data := randomBytes(t, 7<<20)
	for _, b := range []*backend{localBackend(t), sftpBackend(t), s3b, crypted} {
		t.Run(b.name, func(t *testing.T) {
			old := path.Join(b.dir, "db.dump")
			ok(t, run(t, "write", args(b.remote, "path", old, "content", "old")))
			before := b.files(t)
			for _, p := range []string{old, path.Join(b.dir, "new.dump")} {
				res := run(t, "upload", args(b.remote, "from", "pipe:1", "path", p), sdktest.WithInput("from", failingStream(data)))
				if err := failed(t, res); !strings.Contains(err.Error(), "nothing published") || !strings.Contains(err.Error(), errPipe.Error()) {
					t.Errorf("error = %v", err)
				}
			}
			if got := str(ok(t, run(t, "read", args(b.remote, "path", old))), "content"); got != "old" {
				t.Errorf("the previous object holds %q", got[:min(len(got), 20)])
			}
			if got := b.files(t); !cmp.Equal(got, before) {
				t.Errorf("the remote holds %q, want %q", got, before)
			}
			// A good upload then replaces the previous object.
			ok(t, run(t, "upload", args(b.remote, "from", "pipe:1", "path", old), sdktest.WithInput("from", strings.NewReader("new"))))
			if got := str(ok(t, run(t, "read", args(b.remote, "path", old))), "content"); got != "new" {
				t.Errorf("after a good upload the object holds %q", got)
			}
			if got := b.files(t); !cmp.Equal(got, before) {
				t.Errorf("after a good upload the remote holds %q, want %q", got, before)
			}
		})
	}
	if s3srv.aborts.Load() < 2 {
		t.Errorf("S3 saw %d multipart aborts, want one per failed upload", s3srv.aborts.Load())
	}
}

// TestUploadS3ServerError: an S3 server that answers 500 to the second
// part of a multipart upload fails the upload, which is aborted and
// leaves no object.
func TestUploadS3ServerError(t *testing.T) {
	b, srv := s3Backend(t)
	// rclone retries a 500 (10 low-level retries in its pacer, each
	// retried 10 times by the AWS SDK): minutes of backoff before the
	// upload fails. Two and two are enough to see it fail and abort.
	ci := fs.GetConfig(context.Background())
	retries := ci.LowLevelRetries
	ci.LowLevelRetries = 2
	t.Cleanup(func() { ci.LowLevelRetries = retries })
	srv.failParts.Store(2)
	p := path.Join(b.dir, "db.dump")
	res := run(t, "upload", args(b.remote, "from", "pipe:1", "path", p), sdktest.WithInput("from", bytes.NewReader(randomBytes(t, 12<<20))))
	if err := failed(t, res); !strings.Contains(err.Error(), "nothing published") {
		t.Errorf("error = %v", err)
	}
	if got := b.files(t); len(got) != 0 {
		t.Errorf("the bucket holds %q", got)
	}
	if srv.aborts.Load() == 0 {
		t.Error("the multipart upload was not aborted")
	}
	srv.failParts.Store(0)
	srv.failPuts.Store(true)
	res = run(t, "write", args(b.remote, "path", p, "content", "small"))
	failed(t, res)
	srv.failPuts.Store(false)
	if got := b.files(t); len(got) != 0 {
		t.Errorf("after a failed single-request upload the bucket holds %q", got)
	}
}

// TestHashDetectsDamage: a byte flipped in the stored object, or a size
// that differs, fails rclone.hash.
func TestHashDetectsDamage(t *testing.T) {
	b := localBackend(t)
	data := randomBytes(t, 256<<10)
	p := filepath.Join(b.dir, "db.dump")
	ok(t, run(t, "upload", args(b.remote, "from", "pipe:1", "path", p), sdktest.WithInput("from", bytes.NewReader(data))))
	ok(t, run(t, "hash", args(b.remote, "path", p, "sha256", sha256Hex(data), "bytes", len(data))))

	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x01
	if err := os.WriteFile(p, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, "hash", args(b.remote, "path", p, "sha256", sha256Hex(data)))
	if err := failed(t, res); !strings.Contains(err.Error(), "damaged") {
		t.Errorf("error = %v", err)
	}
	if err := failed(t, run(t, "hash", args(b.remote, "path", p, "bytes", len(data)+1))); !strings.Contains(err.Error(), "bytes") {
		t.Errorf("error = %v", err)
	}
}

// TestCrypt: a crypt remote over a local folder stores encrypted names
// and content, and round-trips; the same passphrase declared in an
// rclone.conf (obscured there) reads what the HCL-declared one wrote.
func TestCrypt(t *testing.T) {
	dir := t.TempDir()
	crypt := cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("crypt"), "password": cty.StringVal("h6 passphrase"),
		"remote": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("local"), "path": cty.StringVal(dir)})})
	data := randomBytes(t, 3<<20)
	ok(t, run(t, "upload", args(crypt, "from", "pipe:1", "path", "db/x.dump"), sdktest.WithInput("from", bytes.NewReader(data))))
	stored := dirNames(t, dir)
	if len(stored) != 1 || strings.Contains(stored[0], "x.dump") {
		t.Fatalf("the folder holds %q, want one encrypted name", stored)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, stored[0]))
	if bytes.Contains(raw, data[:64]) {
		t.Error("the stored object holds the plain text")
	}
	ok(t, run(t, "hash", args(crypt, "path", "db/x.dump", "sha256", sha256Hex(data))))

	conf := filepath.Join(t.TempDir(), "rclone.conf")
	writeConf(t, conf, "[store]\ntype = local\n\n[vault]\ntype = crypt\nremote = store:"+dir+"\npassword = "+mustObscure(t, "h6 passphrase")+"\n")
	down := ok(t, run(t, "download", args(cty.StringVal("vault"), "config_file", conf, "path", "db/x.dump"), sdktest.WithOutput("stream")))
	if down.Streams["stream"] != string(data) {
		t.Error("the rclone.conf remote reads other bytes")
	}
	res := run(t, "list", args(cty.StringVal("vautl"), "config_file", conf, "path", ""))
	if d := wantDiag(t, res, "Remote not in config file", cty.GetAttrPath("remote")); !strings.Contains(d.Detail, `Did you mean "vault"?`) {
		t.Errorf("detail = %q", d.Detail)
	}
}

// TestSecretsNotInErrors: a wrong S3 secret fails the step with an error
// that does not hold it.
func TestSecretsNotInErrors(t *testing.T) {
	srv := startS3(t)
	wrong := "h6-wrong-secret-" + randomHex(8)
	remote := srv.remote(wrong)
	for _, res := range []*sdktest.Result{
		run(t, "upload", args(remote, "from", "pipe:1", "path", "h6-secrets/x"), sdktest.WithInput("from", strings.NewReader("x"))),
		run(t, "list", args(remote, "path", "h6-secrets")),
		run(t, "read", args(remote, "path", "h6-secrets/x")),
	} {
		err := failed(t, res)
		all := err.Error() + strings.Join(res.Logs, "\n") + res.Stderr
		if strings.Contains(all, wrong) || strings.Contains(all, srv.secret) {
			t.Errorf("the error shows the secret: %s", all)
		}
		if strings.Contains(all, "zrun-") {
			t.Errorf("the error shows a generated remote name: %s", all)
		}
	}
}

// TestOverGRPC: a declared remote (an object of any shape) crosses the
// real wire.
func TestOverGRPC(t *testing.T) {
	b := localBackend(t)
	p := filepath.Join(b.dir, "m.json")
	ok(t, run(t, "write", args(b.remote, "path", p, "content", "{}"), sdktest.OverGRPC()))
	if got := str(ok(t, run(t, "read", args(b.remote, "path", p), sdktest.OverGRPC())), "content"); got != "{}" {
		t.Errorf("read = %q", got)
	}
}

// TestMarkedSecretOverGRPC: a remote whose secret is marked sensitive, as
// a value from secret. is, crosses the wire and works.
func TestMarkedSecretOverGRPC(t *testing.T) {
	b, srv := s3Backend(t)
	attrs := b.remote.AsValueMap()
	attrs["secret_access_key"] = cty.StringVal(srv.secret).Mark(sdk.Sensitive)
	remote := cty.ObjectVal(attrs)
	p := path.Join(b.dir, "m.json")
	ok(t, run(t, "write", args(remote, "path", p, "content", "{}"), sdktest.OverGRPC()))
	if got := str(ok(t, run(t, "read", args(remote, "path", p), sdktest.OverGRPC())), "content"); got != "{}" {
		t.Errorf("read = %q", got)
	}
}

func writeConf(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSteps: steps of one plugin process using the same and
// different remotes at once (rclone's config is process-wide).
func TestConcurrentSteps(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			dir := dirs[i%2]
			crypt := cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("crypt"), "password": cty.StringVal("h6 " + dir),
				"remote": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("local"), "path": cty.StringVal(dir)})})
			name := fmt.Sprintf("f%d", i)
			// (t.Errorf, not t.Fatalf: this is not the test's goroutine.)
			if err := run(t, "upload", args(crypt, "from", "pipe:1", "path", name), sdktest.WithInput("from", strings.NewReader(name))).Diagnostics.Err(); err != nil {
				t.Errorf("upload %s: %v", name, err)
				return
			}
			res := run(t, "read", args(crypt, "path", name))
			if err := res.Diagnostics.Err(); err != nil || str(res, "content") != name {
				t.Errorf("read %s: %v", name, err)
			}
		})
	}
	wg.Wait()
	if a, b := len(dirNames(t, dirs[0])), len(dirNames(t, dirs[1])); a != 3 || b != 3 {
		t.Errorf("the folders hold %d and %d objects, want 3 each", a, b)
	}
}

// TestUploadNoStream: an upload whose from is null in this run says so.
func TestUploadNoStream(t *testing.T) {
	res := run(t, "upload", map[string]cty.Value{"remote": obj("type", "local"), "from": cty.NullVal(cty.String), "path": cty.StringVal(filepath.Join(t.TempDir(), "x"))})
	wantDiag(t, res, "No stream", cty.GetAttrPath("from"))
}

// TestProgressThrottled: a burst of reads reports nothing until a quarter
// of a second has passed; finish always reports.
func TestProgressThrottled(t *testing.T) {
	ui := sdktest.NewUI(nil, sdk.RunInfo{})
	p := newProgress(ui, 0, "upload x")
	for i := range 10000 {
		p.set(int64(i))
	}
	p.finish(10000)
	if got := ui.Record().Progress; len(got) > 2 || got[len(got)-1].Done != 10000 {
		t.Errorf("progress = %+v", got)
	}
}
