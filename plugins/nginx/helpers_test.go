package nginx

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/nginx/nginxtest"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// nginxBinary finds nginx, or skips the test (fails it under CI).
func nginxBinary(t *testing.T) string { return nginxtest.Binary(t) }

// testNginx is an nginx of the test's own: its main configuration,
// prefix, pid file and conf.d in a temporary folder, on loopback ports.
type testNginx struct {
	bin, dir, config, confd, pidFile string
	target                           sdk.Target // the actions' (nil: local)
}

// startNginx starts nginx through nginx.ensure_running on the local
// target, stopped when the test ends.
func startNginx(t *testing.T) *testNginx {
	t.Helper()
	return startNginxOn(t, local.Target())
}

// startNginxOn is startNginx with the actions run on target (a target of
// this machine, over SSH).
func startNginxOn(t *testing.T, target sdk.Target) *testNginx {
	t.Helper()
	d := nginxtest.Prepare(t)
	n := &testNginx{bin: nginxBinary(t), dir: d.Dir, config: d.Config, confd: d.ConfD, pidFile: d.PidFile, target: target}
	t.Cleanup(func() { n.stop(t) })
	res := n.run(t, "ensure_running", nil).ok(t)
	if !res.outputs.GetAttr("started").True() {
		t.Fatalf("ensure_running did not start nginx: %#v", res.outputs)
	}
	return n
}

// stop ends nginx (its master and workers) and waits for it.
func (n *testNginx) stop(t *testing.T) {
	if log, err := os.ReadFile(filepath.Join(n.dir, "error.log")); t.Failed() && err == nil {
		t.Logf("nginx's error log:\n%s", log)
	}
	b, err := os.ReadFile(n.pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		// Gone, or a zombie its new parent (init) has not reaped yet.
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Logf("nginx (pid %d) did not stop within 5s: killed", pid)
}

// conn are the connection arguments every action gets.
func (n *testNginx) conn(args map[string]any) map[string]any {
	out := map[string]any{"nginx": n.bin, "config": n.config, "prefix": n.dir}
	for k, v := range args {
		out[k] = v
	}
	return out
}

// run runs an action over gRPC on the local target with n's connection.
func (n *testNginx) run(t *testing.T, action string, args map[string]any) *result {
	t.Helper()
	return runOn(t, n.target, action, n.conn(args))
}

// workers returns the pids of n's master's live workers (not those
// shutting down after a reload).
func (n *testNginx) workers(t *testing.T) []int {
	t.Helper()
	b, err := os.ReadFile(n.pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	kids, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(kids)) {
		cmd, _ := os.ReadFile("/proc/" + f + "/cmdline")
		if len(cmd) == 0 || strings.Contains(string(cmd), "shutting down") {
			continue // an old worker on its way out
		}
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// result is what one action did.
type result struct {
	outputs cty.Value
	diags   sdk.Diagnostics
	sdktest.Record
}

func runAction(t *testing.T, action string, args map[string]any) *result {
	t.Helper()
	return runOn(t, local.Target(), action, args)
}

// runOn runs an action over gRPC on target.
func runOn(t *testing.T, target sdk.Target, action string, args map[string]any) *result {
	t.Helper()
	res := sdktest.Run(t, Plugin(), action, args, sdktest.OverGRPC(), sdktest.WithTarget(target))
	return &result{outputs: res.Outputs, diags: res.Diagnostics, Record: res.Record}
}

func (r *result) err() error { return r.diags.Err() }

func (r *result) ok(t *testing.T) *result {
	t.Helper()
	if err := r.err(); err != nil {
		t.Fatalf("step failed: %s\nlogs: %q", err, r.Logs)
	}
	return r
}

// wantErr fails t unless the step failed with a diagnostic whose summary
// is summary at path (nil: any path); it returns the diagnostic.
func (r *result) wantErr(t *testing.T, summary string, path cty.Path) sdk.Diagnostic {
	t.Helper()
	for _, d := range r.diags {
		if d.Summary == summary && (path == nil || d.Path.Equals(path)) {
			return d
		}
	}
	t.Fatalf("want a %q diagnostic at %#v, got %#v", summary, path, r.diags)
	return sdk.Diagnostic{}
}

func (r *result) str(name string) string   { return r.outputs.GetAttr(name).AsString() }
func (r *result) boolean(name string) bool { return r.outputs.GetAttr(name).True() }

func (r *result) strs(name string) []string {
	var out []string
	for _, v := range r.outputs.GetAttr(name).AsValueSlice() {
		out = append(out, v.AsString())
	}
	return out
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testPKI is a CA and a certificate it signed for localhost and
// 127.0.0.1, in PEM.
type testPKI struct {
	pool      *x509.CertPool
	cert, key string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := nginxtest.NewPKI(t, "localhost")
	return &testPKI{pool: p.Pool, cert: p.Cert, key: p.Key}
}

// client trusts the test CA, tries HTTP/2 and does not follow redirects.
func (p *testPKI) client() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: p.pool},
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
