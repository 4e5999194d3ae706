package nginx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// val converts Go test values (maps, slices, strings, ints, bools) to cty
// objects and tuples, as HCL would give them to the plugin.
func val(v any) cty.Value {
	switch v := v.(type) {
	case cty.Value:
		return v
	case string:
		return cty.StringVal(v)
	case int:
		return cty.NumberIntVal(int64(v))
	case bool:
		return cty.BoolVal(v)
	case []any:
		elems := make([]cty.Value, len(v))
		for i, e := range v {
			elems[i] = val(e)
		}
		return cty.TupleVal(elems)
	case []string:
		elems := make([]any, len(v))
		for i, e := range v {
			elems[i] = e
		}
		return val(elems)
	case map[string]any:
		attrs := map[string]cty.Value{}
		for k, e := range v {
			attrs[k] = val(e)
		}
		return cty.ObjectVal(attrs)
	}
	panic(fmt.Sprintf("val: %T", v))
}

type obj = map[string]any
type list = []any

// backend is a loopback HTTP server that answers its name and records
// the proxy headers of the last request.
type backend struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	last http.Header
	host string
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.last, b.host = r.Header.Clone(), r.Host
		b.mu.Unlock()
		io.WriteString(w, name)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) hostPort() string { return strings.TrimPrefix(b.URL, "http://") }

// tlsSite is the guide's shape: an upstream, the api zone (60r/m), a TLS
// server with HTTP/2 and the HTTP redirect, / and /api/ proxied.
func tlsSite(n *testNginx, pki *testPKI, app *backend, httpsPort, httpPort int) map[string]any {
	return n.conn(map[string]any{
		"path":        filepath.Join(n.confd, "site.conf"),
		"upstreams":   val(list{obj{"name": "app", "servers": []string{app.hostPort()}, "keepalive": 8}}),
		"rate_limits": val(list{obj{"name": "api", "rate": "60r/m"}}),
		"servers": val(list{obj{
			"server_names":    []string{"localhost"},
			"listen":          list{fmt.Sprintf("127.0.0.1:%d", httpsPort)},
			"tls":             obj{"certificate": pki.cert, "key": pki.key},
			"http2":           true,
			"redirect_http":   true,
			"redirect_listen": list{fmt.Sprintf("127.0.0.1:%d", httpPort)},
			"locations": list{
				obj{"path": "/", "proxy_pass": "http://app"},
				obj{"path": "/api/", "proxy_pass": "http://app", "rate_limit": obj{"zone": "api", "burst": 10, "nodelay": true}},
			},
		}}),
	})
}

func TestSiteTLS(t *testing.T) {
	n := startNginx(t)
	pki := newPKI(t)
	app := newBackend(t, "app")
	httpsPort, httpPort := freePort(t), freePort(t)
	args := tlsSite(n, pki, app, httpsPort, httpPort)

	plan := planOf(t, "site", args)
	if text := strings.Join(plan.Changes, "\n"); plan.NoOp || !strings.Contains(text, "+    listen 127.0.0.1:") ||
		!strings.Contains(text, "create private key "+filepath.Join(n.confd, "site.localhost.key")+" (mode 0600; contents not shown)") ||
		strings.Contains(text, strings.Split(pki.key, "\n")[1]) {
		t.Errorf("plan of the new site:\n%s", text)
	}
	res := n.run(t, "site", args).ok(t)
	conf, err := os.ReadFile(filepath.Join(n.confd, "site.conf"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(conf)
	if !res.boolean("changed") || res.str("sha256") != hex.EncodeToString(sum[:]) {
		t.Errorf("outputs = %#v", res.outputs)
	}
	diff := res.str("diff")
	if !strings.Contains(diff, "+upstream app {") || !strings.Contains(diff, "create private key "+filepath.Join(n.confd, "site.localhost.key")) {
		t.Errorf("diff:\n%s", diff)
	}
	for _, secret := range []string{pki.key, strings.Split(pki.key, "\n")[1]} {
		if strings.Contains(diff, secret) || strings.Contains(strings.Join(res.Logs, "\n"), secret) {
			t.Fatal("the private key is in the diff or the logs")
		}
	}
	for name, mode := range map[string]os.FileMode{"site.localhost.key": 0o600, "site.localhost.crt": 0o644, "site.conf": 0o644} {
		if fi, err := os.Stat(filepath.Join(n.confd, name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %04o", name, err, fi.Mode(), mode)
		}
	}

	client := pki.client()
	base := fmt.Sprintf("https://localhost:%d", httpsPort)
	resp, err := client.Get(base + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "app" || resp.ProtoMajor != 2 || resp.TLS == nil {
		t.Errorf("GET /hello: %s %q over %s (TLS %v)", resp.Status, body, resp.Proto, resp.TLS != nil)
	}
	app.mu.Lock()
	h, host := app.last, app.host
	app.mu.Unlock()
	if host != "localhost" || h.Get("X-Real-IP") != "127.0.0.1" || h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("the backend saw Host %q and headers %v", host, h)
	}

	resp, err = client.Get(fmt.Sprintf("http://127.0.0.1:%d/a/b?c=d", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://127.0.0.1:%d/a/b?c=d", httpsPort); resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %s to %q, want 301 to %q", resp.Status, resp.Header.Get("Location"), want)
	}

	// The api zone lets 1 request through, then a burst of 10 with no
	// delay; the rest of a quick burst is refused with 503.
	codes := map[int]int{}
	for range 15 {
		resp, err := client.Get(base + "/api/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[200] < 11 || codes[200] > 12 || codes[503] != 15-codes[200] {
		t.Errorf("15 quick requests to /api/: %v, want 11 (or 12 if a second passed) answered and the rest 503", codes)
	}

	// The same site again: nothing written, nginx not reloaded.
	workers := n.workers(t)
	fi, _ := os.Stat(filepath.Join(n.confd, "site.conf"))
	res = n.run(t, "site", args).ok(t)
	fi2, _ := os.Stat(filepath.Join(n.confd, "site.conf"))
	if res.boolean("changed") || res.str("diff") != "" || res.str("sha256") != hex.EncodeToString(sum[:]) {
		t.Errorf("second apply: %#v", res.outputs)
	}
	if !fi.ModTime().Equal(fi2.ModTime()) || !slices.Equal(workers, n.workers(t)) {
		t.Errorf("second apply rewrote the file or reloaded nginx (workers %v -> %v)", workers, n.workers(t))
	}
	plan = planOf(t, "site", args)
	if !plan.NoOp || len(plan.Changes) != 1 || !strings.Contains(plan.Changes[0], "no change") {
		t.Errorf("plan of the same site: %#v", plan)
	}
}

// planOf plans an action on the local target, over gRPC.
func planOf(t *testing.T, action string, args map[string]any) *sdk.PlanResponse {
	t.Helper()
	p := Plugin()
	resp, diags, err := sdktest.GRPC(t, p).PlanAction(t.Context(), action, &sdk.PlanRequest{
		Args: sdktest.Args(t, p, action, args), Target: local.Target(), Info: sdk.RunInfo{Step: "step." + action},
	})
	if err != nil || diags.HasErrors() {
		t.Fatalf("plan: %v %v", err, diags.Err())
	}
	return resp
}

// TestSiteBrokenRefused: a configuration nginx -t refuses fails the step
// with nginx's own file:line, puts the previous file back (removes a new
// one) and leaves nginx serving the old configuration, not reloaded.
func TestSiteBrokenRefused(t *testing.T) {
	n := startNginx(t)
	app := newBackend(t, "old")
	port := freePort(t)
	site := filepath.Join(n.confd, "site.conf")
	good := n.conn(map[string]any{"path": site, "servers": val(list{obj{
		"listen":    list{fmt.Sprintf("127.0.0.1:%d", port)},
		"locations": list{obj{"path": "/", "proxy_pass": app.URL}},
	}})})
	n.run(t, "site", good).ok(t)
	before, _ := os.ReadFile(site)
	workers := n.workers(t)
	get := func() string {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(); got != "old" {
		t.Fatalf("before: %q", got)
	}

	broken := n.conn(map[string]any{"path": site, "content": "server {\n    listen 127.0.0.1:1;\n    bogus_directive on;\n}\n"})
	err := n.run(t, "site", broken).err()
	if err == nil || !strings.Contains(err.Error(), `unknown directive "bogus_directive" in `+site+":3") ||
		!strings.Contains(err.Error(), "The previous files are back") {
		t.Fatalf("error = %v", err)
	}
	if after, _ := os.ReadFile(site); string(after) != string(before) {
		t.Errorf("the previous file was not restored:\n%s", after)
	}
	if got := get(); got != "old" || !slices.Equal(workers, n.workers(t)) {
		t.Errorf("after the refused config: %q, workers %v -> %v", got, workers, n.workers(t))
	}

	// A new file that is refused is removed.
	other := filepath.Join(n.confd, "other.conf")
	err = n.run(t, "site", n.conn(map[string]any{"path": other, "content": "upstream x { bogus; }\n"})).err()
	if err == nil || !strings.Contains(err.Error(), other+":1") {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("the refused new file is still there: %v", err)
	}
}

// TestSiteReloadNotTaken: a configuration nginx -t accepts but the
// master cannot take (its port is held by another process) fails the
// step once the reload timeout passes with no new workers; the previous
// file comes back and nginx is reloaded with it.
func TestSiteReloadNotTaken(t *testing.T) {
	n := startNginx(t)
	app := newBackend(t, "old")
	port := freePort(t)
	site := filepath.Join(n.confd, "site.conf")
	args := func(ports ...string) map[string]any {
		return n.conn(map[string]any{"path": site, "reload_timeout": "1s", "servers": val(list{obj{
			"listen": ports, "locations": list{obj{"path": "/", "proxy_pass": app.URL}},
		}})})
	}
	n.run(t, "site", args(fmt.Sprintf("127.0.0.1:%d", port))).ok(t)
	before, _ := os.ReadFile(site)

	held := newBackend(t, "held") // another process's port
	res := n.run(t, "site", args(fmt.Sprintf("127.0.0.1:%d", port), held.hostPort()))
	err := res.err()
	if err == nil || !strings.Contains(err.Error(), "did not take the configuration within 1s") ||
		!strings.Contains(err.Error(), "reloaded with them") {
		t.Fatalf("error = %v", err)
	}
	if after, _ := os.ReadFile(site); string(after) != string(before) {
		t.Errorf("the previous file was not restored:\n%s", after)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the failed reload: %s", resp.Status)
	}
}
