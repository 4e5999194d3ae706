package dockertest

import (
	"crypto/subtle"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is an image registry served by the test process on
// 127.0.0.1 (go-containerregistry's, in memory), which answers only
// requests that carry Basic auth of its user, and counts every request.
// An engine in this machine's network namespace reaches it at Host, and
// treats it as an insecure (plain HTTP) registry, as Docker treats every
// registry on 127.0.0.0/8.
type Registry struct {
	// Host is the registry's HOST:PORT, the first component of its
	// image references (Host + "/zakupai/app:1").
	Host string

	user, password string
	srv            *httptest.Server

	mu       sync.Mutex
	requests []string // "METHOD PATH", authorised or not
}

// NewRegistry starts a registry that lets user in with password; it
// stops when the test ends.
func NewRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	return newRegistry(t, "127.0.0.1:0", user, password)
}

// NewServerRegistry is NewRegistry on this side of the server engine's
// link (HostAddr), which both engines reach: testdata/docker.sh starts
// them treating its network as insecure (plain HTTP).
func NewServerRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	return newRegistry(t, net.JoinHostPort(HostAddr, "0"), user, password)
}

func newRegistry(t testing.TB, addr, user, password string) *Registry {
	t.Helper()
	r := &Registry{user: user, password: password}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		if !r.authorised(req) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, req)
	}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the test registry cannot listen on %s: %v", addr, err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	r.srv = srv
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// Close stops the registry before the test ends: a registry that is
// down.
func (r *Registry) Close() { r.srv.Close() }

func (r *Registry) authorised(req *http.Request) bool {
	u, p, ok := req.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(r.user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(r.password)) == 1
}

// Requests counts the requests so far whose method is method and whose
// path contains part ("/manifests/").
func (r *Registry) Requests(method, part string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.requests {
		m, path, _ := strings.Cut(req, " ")
		if m == method && strings.Contains(path, part) {
			n++
		}
	}
	return n
}

// ManifestDigest is the digest the registry serves the manifest of
// repo:ref (a tag or a digest) under: its Docker-Content-Digest.
func (r *Registry) ManifestDigest(t testing.TB, repo, ref string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, "http://"+r.Host+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(r.user, r.password)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s:%s in the test registry: %s", repo, ref, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}
