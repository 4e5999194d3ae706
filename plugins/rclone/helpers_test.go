package rclone

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
	"github.com/rclone/rclone/fs/config/obscure"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// run runs an action of the plugin as zrun would (validation first).
func run(t *testing.T, action string, args map[string]cty.Value, opts ...sdktest.Option) *sdktest.Result {
	t.Helper()
	return sdktest.Run(t, Plugin(), action, args, opts...)
}

// ok fails t unless the step succeeded.
func ok(t *testing.T, res *sdktest.Result) *sdktest.Result {
	t.Helper()
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatalf("step failed: %s\nlogs: %q", err, res.Logs)
	}
	return res
}

// failed fails t unless the step failed, and returns its error.
func failed(t *testing.T, res *sdktest.Result) error {
	t.Helper()
	err := res.Diagnostics.Err()
	if err == nil {
		t.Fatalf("step succeeded, want a failure; outputs %#v", res.Outputs)
	}
	return err
}

// wantDiag fails t unless the step failed with a diagnostic whose summary
// is summary at path, and returns it.
func wantDiag(t *testing.T, res *sdktest.Result, summary string, path cty.Path) sdk.Diagnostic {
	t.Helper()
	for _, d := range res.Diagnostics {
		if d.Summary == summary && (path == nil || d.Path.Equals(path)) {
			return d
		}
	}
	t.Fatalf("want a %q diagnostic at %#v, got %#v", summary, path, res.Diagnostics)
	return sdk.Diagnostic{}
}

func str(res *sdktest.Result, name string) string { return res.Outputs.GetAttr(name).AsString() }

func num(res *sdktest.Result, name string) int64 {
	n, _ := res.Outputs.GetAttr(name).AsBigFloat().Int64()
	return n
}

func strs(v cty.Value) []string {
	out := []string{}
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out
}

// args builds an action's arguments from a remote and pairs of name and
// value (strings, or cty.Values).
func args(remote cty.Value, kv ...any) map[string]cty.Value {
	m := map[string]cty.Value{"remote": remote}
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			m[kv[i].(string)] = cty.StringVal(v)
		case int:
			m[kv[i].(string)] = cty.NumberIntVal(int64(v))
		case bool:
			m[kv[i].(string)] = cty.BoolVal(v)
		case cty.Value:
			m[kv[i].(string)] = v
		default:
			panic("args: unsupported value")
		}
	}
	return m
}

// obj is a remote declared as in HCL.
func obj(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return cty.ObjectVal(m)
}

// backend is a remote under test, with a folder of its own and a way to
// see what it really stores.
type backend struct {
	name   string
	remote cty.Value
	dir    string // the folder inside the remote the test uses
	// files returns the names of what is stored below dir (a raw view,
	// hidden names included), for checking nothing was left behind.
	files func(t *testing.T) []string
}

func localBackend(t *testing.T) *backend {
	dir := t.TempDir()
	return &backend{name: "local", remote: obj("type", "local"), dir: dir, files: func(t *testing.T) []string { return dirNames(t, dir) }}
}

func sftpBackend(t *testing.T) *backend {
	s := sshdtest.Start(t, nil)
	dir := t.TempDir()
	return &backend{name: "sftp", dir: dir, files: func(t *testing.T) []string { return dirNames(t, dir) },
		remote: obj("type", "sftp", "host", s.Addr, "port", strconv.Itoa(s.Port), "user", s.User,
			"key_file", s.KeyFile, "known_hosts_file", s.KnownHostsFile)}
}

// s3Server is an S3 server on loopback (gofakes3 in memory, with
// signature checks), reached through a reverse proxy that can be told to
// fail uploads.
type s3Server struct {
	URL            string
	key, secret    string
	failParts      atomic.Int64 // > 0: answer 500 to UploadPart from this part number on
	failPuts       atomic.Bool  // answer 500 to every PUT
	aborts, parts  atomic.Int64
	mu             sync.Mutex
	requestsLogged []string
}

func startS3(t *testing.T) *s3Server {
	t.Helper()
	s := &s3Server{key: "h6-test-key-id", secret: "h6-test-secret-" + randomHex(8)}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithV4Auth(map[string]string{s.key: s.secret}), gofakes3.WithAutoBucket(true))
	backendSrv := httptest.NewServer(fake.Server())
	t.Cleanup(backendSrv.Close)
	u, _ := url.Parse(backendSrv.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.mu.Lock()
		s.requestsLogged = append(s.requestsLogged, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		s.mu.Unlock()
		if r.Method == http.MethodDelete && q.Has("uploadId") {
			s.aborts.Add(1)
		}
		if r.Method == http.MethodPut && q.Has("partNumber") {
			s.parts.Add(1)
			n, _ := strconv.Atoi(q.Get("partNumber"))
			if from := s.failParts.Load(); from > 0 && int64(n) >= from {
				_, _ = io.Copy(io.Discard, r.Body)
				http.Error(w, "<Error><Code>InternalError</Code><Message>injected</Message></Error>", http.StatusInternalServerError)
				return
			}
		}
		if r.Method == http.MethodPut && s.failPuts.Load() {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, "<Error><Code>InternalError</Code><Message>injected</Message></Error>", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	s.URL = front.URL
	return s
}

// remote is the server's remote, with the secret given.
func (s *s3Server) remote(secret string) cty.Value {
	return obj("type", "s3", "provider", "Other", "endpoint", s.URL, "region", "us-east-1",
		"access_key_id", s.key, "secret_access_key", secret, "force_path_style", "true")
}

func s3Backend(t *testing.T) (*backend, *s3Server) {
	s := startS3(t)
	bucket := "h6-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	bucket = strings.ReplaceAll(strings.ReplaceAll(bucket, "_", "-"), " ", "-")
	if len(bucket) > 60 {
		bucket = bucket[:60]
	}
	b := &backend{name: "s3", remote: s.remote(s.secret), dir: bucket}
	b.files = func(t *testing.T) []string {
		t.Helper()
		res := ok(t, run(t, "list", args(b.remote, "path", bucket, "recursive", true)))
		var names []string
		for _, o := range res.Outputs.GetAttr("objects").AsValueSlice() {
			names = append(names, o.GetAttr("name").AsString())
		}
		return names
	}
	return b, s
}

// dirNames lists a local folder, recursively, hidden names included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// errPipe is what a stream whose producer failed returns.
var errPipe = errors.New("producer step.dump failed: pg_dump exited with status 1")

// failingStream yields data, then fails as a pipe from a failed step does.
func failingStream(data []byte) io.Reader {
	return io.MultiReader(bytes.NewReader(data), errReader{errPipe})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func mustObscure(t *testing.T, s string) string {
	t.Helper()
	o, err := obscure.Obscure(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
