package nginx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
)

// TestRemoteSite runs the actions against a real OpenSSH server
// (sshdtest: /usr/sbin/sshd on loopback) through zrun's own SSH
// communicator, as a step with target = "web1" would: nginx started over
// SSH, a TLS site written over SFTP, tested and reloaded with the reload
// proved by reading /proc over SFTP, then applied again with no change,
// and a refused config restored. The server runs on this machine, so the
// test looks at nginx and its files directly.
func TestRemoteSite(t *testing.T) {
	nginxBinary(t)
	s := sshdtest.Start(t, nil)
	pool := targets.NewPool()
	t.Cleanup(func() { _ = pool.Close() })
	web1, err := pool.Target(t.Context(), &targets.Config{
		Name: "web1", Address: s.Addr, Port: s.Port, User: s.User,
		PrivateKeyFile: s.KeyFile, KnownHostsFile: s.KnownHostsFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := startNginxOn(t, web1)
	pki := newPKI(t)
	app := newBackend(t, "app")
	httpsPort, httpPort := freePort(t), freePort(t)
	args := tlsSite(n, pki, app, httpsPort, httpPort)

	res := n.run(t, "site", args).ok(t)
	if !res.boolean("changed") || !strings.Contains(res.str("diff"), "--- /dev/null") {
		t.Fatalf("outputs = %#v", res.outputs)
	}
	if fi, err := os.Stat(filepath.Join(n.confd, "site.localhost.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", err, fi)
	}
	resp, err := pki.client().Get(fmt.Sprintf("https://localhost:%d/", httpsPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "app" || resp.ProtoMajor != 2 {
		t.Errorf("GET /: %s %q over %s", resp.Status, body, resp.Proto)
	}

	workers := n.workers(t)
	if res := n.run(t, "site", args).ok(t); res.boolean("changed") || fmt.Sprint(workers) != fmt.Sprint(n.workers(t)) {
		t.Errorf("the same site again over SSH: %#v, workers %v -> %v", res.outputs, workers, n.workers(t))
	}

	// An upstream switch over SSH, timed: what a deploy pays per service.
	other := newBackend(t, "other")
	var took []time.Duration
	for _, b := range []*backend{other, app, other} {
		start := time.Now()
		res := n.run(t, "upstream", map[string]any{"path": filepath.Join(n.confd, "app2.upstream.conf"), "name": "app2", "servers": []string{b.hostPort()}}).ok(t)
		took = append(took, time.Since(start))
		if !res.boolean("changed") {
			t.Errorf("upstream over SSH: %#v", res.outputs)
		}
	}
	t.Logf("nginx.upstream switches over SSH took %v", took)

	before, _ := os.ReadFile(filepath.Join(n.confd, "site.conf"))
	bad := n.conn(map[string]any{"path": filepath.Join(n.confd, "site.conf"), "content": "bogus_directive;\n"})
	if err := n.run(t, "site", bad).err(); err == nil || !strings.Contains(err.Error(), "on web1") || !strings.Contains(err.Error(), `unknown directive "bogus_directive"`) {
		t.Errorf("error = %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(n.confd, "site.conf")); string(after) != string(before) {
		t.Error("the refused file was not restored over SSH")
	}
}
