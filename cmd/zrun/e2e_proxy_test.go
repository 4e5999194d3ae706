package main

// The zero-downtime deploy through the real binary: the shipped proxy
// workflow puts a real nginx (the test's own, on loopback) with TLS in
// front of the stack, and a deploy moves nginx's upstreams to the new
// containers while a client sends requests through it: none may fail.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/plugins/nginx/nginxtest"
)

// proxyStack is a stack project whose environment puts the test's nginx in
// front of it, and the TLS client that reaches the site through it.
type proxyStack struct {
	*stackProject
	https  int
	client *http.Client
}

// newProxyStack is newStackProject(t, extra) behind the test's nginx.
func newProxyStack(t *testing.T, extra string) *proxyStack {
	return newProxyStackIn(t, extra, "")
}

// newProxyStackIn is newProxyStack with nginx in the network namespace
// netns ("": this one), as a server's nginx: the client reaches it at the
// namespace's address.
func newProxyStackIn(t *testing.T, extra, netns string) *proxyStack {
	t.Helper()
	nginx := nginxtest.Binary(t)
	d := nginxtest.Prepare(t)
	dir, conf := d.Dir, d.Config
	host, command := "127.0.0.1", func(args ...string) *exec.Cmd { return exec.Command(nginx, args...) }
	if netns != "" {
		host = dockertest.ServerAddr
		command = func(args ...string) *exec.Cmd {
			return exec.Command("ip", append([]string{"netns", "exec", netns, nginx}, args...)...)
		}
	}
	// nginx runs as a service runs on a server: started here, not by a
	// run (whose processes end with it).
	if out, err := command("-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("starting nginx: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		command("-c", conf, "-s", "stop").Run()
		for range 50 {
			if _, err := os.Stat(d.PidFile); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	pki := nginxtest.NewPKI(t, "zakupai.localhost", "api.zakupai.localhost")
	writeFile(t, filepath.Join(dir, "site.crt"), pki.Cert)
	writeFile(t, filepath.Join(dir, "site.key"), pki.Key)

	p := &proxyStack{stackProject: newStackProject(t, extra), https: freeTCPPort(t)}
	p.env = append(p.env, "ZAKUPAI_PROXY=1",
		"ZAKUPAI_NGINX_CONF="+conf, "ZAKUPAI_NGINX_CONF_DIR="+d.ConfD,
		fmt.Sprintf("ZAKUPAI_HTTPS_PORT=%d", p.https), fmt.Sprintf("ZAKUPAI_HTTP_PORT=%d", freeTCPPort(t)),
		"ZAKUPAI_TLS_CERTIFICATE="+filepath.Join(dir, "site.crt"), "ZAKUPAI_TLS_KEY="+filepath.Join(dir, "site.key"))
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki.Pool},
		// Every name resolves to the test's nginx.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fmt.Sprintf("%s:%d", host, p.https))
		},
		ForceAttemptHTTP2: true,
	}}
	return p
}

// version is what the site for host answers at / through nginx.
func (p *proxyStack) version(host string) (string, error) {
	resp, err := p.client.Get("https://" + host + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", host, resp.Status)
	}
	var v struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// load sends requests to host through nginx, one after the other, until
// stop is called, which says how many were sent, which versions answered,
// and every failure.
func (p *proxyStack) load(host string) (stop func() (total int64, versions map[string]int, failures []string)) {
	var total atomic.Int64
	var mu sync.Mutex
	versions := map[string]int{}
	var failures []string
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			v, err := p.version(host)
			total.Add(1)
			mu.Lock()
			if err != nil {
				failures = append(failures, time.Now().Format("15:04:05.000")+" "+err.Error())
			} else {
				versions[v]++
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	})
	return func() (int64, map[string]int, []string) {
		close(done)
		wg.Wait()
		return total.Load(), versions, failures
	}
}

// TestProxyZeroDowntimeDeploy: with nginx in front, a deploy of a new
// version fails no request of a client that never stops sending them, the
// site answers the new version after it, and the old containers are kept
// for rollback; the rollback goes the same way.
func TestProxyZeroDowntimeDeploy(t *testing.T) {
	p := newProxyStack(t, "")
	r := p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1")
	wantCode(t, r, 0)
	r = p.zrun(t, "workflow", "proxy", "--env", "e2e")
	wantCode(t, r, 0)
	for _, host := range []string{"zakupai.localhost", "api.zakupai.localhost"} {
		if v, err := p.version(host); err != nil || v != "1" {
			t.Fatalf("%s through nginx: version %q, %v; want 1\n%s", host, v, err, r)
		}
	}

	stop := p.load("zakupai.localhost")
	r = p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=2")
	total, versions, failures := stop()
	wantCode(t, r, 0)
	wantContains(t, "deploy", r.stdout+r.stderr, "step.route", "step.retire")
	if len(failures) > 0 {
		t.Errorf("%d of %d requests through nginx failed during the deploy; the first: %s", len(failures), total, failures[0])
	}
	if versions["1"] == 0 || versions["2"] == 0 {
		t.Errorf("versions answered during the deploy: %v; want both 1 and 2", versions)
	}
	t.Logf("%d requests during the deploy (%s): %v", total, r.took.Round(time.Millisecond), versions)
	for _, host := range []string{"zakupai.localhost", "api.zakupai.localhost"} {
		if v, err := p.version(host); err != nil || v != "2" {
			t.Errorf("%s after the deploy: version %q, %v; want 2", host, v, err)
		}
	}
	ids := p.ids(t)
	for _, name := range []string{"gateway", "web"} {
		kept := 0
		for n := range p.containers(t) {
			if strings.HasPrefix(n, p.prefix+name+"--zrun-kept-") {
				kept++
			}
		}
		if ids[p.prefix+name] == "" || kept != 1 {
			t.Errorf("%s: running %q, %d kept containers; want the new one running and the old one kept", name, ids[p.prefix+name], kept)
		}
	}

	stop = p.load("zakupai.localhost")
	r = p.zrun(t, "workflow", "rollback", "--env", "e2e")
	total, versions, failures = stop()
	wantCode(t, r, 0)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests through nginx failed during the rollback; the first: %s", len(failures), total, failures[0])
	}
	if v, err := p.version("zakupai.localhost"); err != nil || v != "1" {
		t.Errorf("after the rollback: version %q, %v; want 1 (answered during it: %v)", v, err, versions)
	}
}

// TestProxyStage: the same on a server reached over SSH (stage): the
// server's nginx (in the stand-in server's network namespace, as a
// service there) fronts the containers of its engine, and a deploy and a
// rollback, each run from this machine through the run's SSH connection,
// fail no request a client sends from here to the server's nginx.
func TestProxyStage(t *testing.T) {
	p := newProxyStackIn(t, "", "zrun-srv")
	stageServer(t, p.stackProject, `
  # The test's nginx, reached over SSH, run as root by the test's sshd.
  proxy = {
    sudo       = false
    nginx_conf = env("ZAKUPAI_NGINX_CONF")
    conf_dir   = env("ZAKUPAI_NGINX_CONF_DIR")
    https_port = tonumber(env("ZAKUPAI_HTTPS_PORT"))
    http_port  = tonumber(env("ZAKUPAI_HTTP_PORT"))
    web_domain = "zakupai.localhost"
    api_domain = "api.zakupai.localhost"
  }
`)
	wantCode(t, p.zrun(t, "workflow", "proxy", "--env", "e2e-stage"), 0)
	r := p.zrun(t, "workflow", "deploy", "--env", "e2e-stage", "--param", "version=1")
	wantCode(t, r, 0)
	for _, host := range []string{"zakupai.localhost", "api.zakupai.localhost"} {
		if v, err := p.version(host); err != nil || v != "1" {
			t.Fatalf("%s through the server's nginx: version %q, %v; want 1\n%s", host, v, err, r)
		}
	}
	for _, step := range []struct{ what, version string }{{"deploy", "2"}, {"rollback", "1"}} {
		stop := p.load("zakupai.localhost") // the API host has its rate limit
		args := []string{"workflow", step.what, "--env", "e2e-stage"}
		if step.what == "deploy" {
			args = append(args, "--param", "version="+step.version)
		}
		r := p.zrun(t, args...)
		total, versions, failures := stop()
		wantCode(t, r, 0)
		if len(failures) > 0 {
			t.Errorf("%d of %d requests through the server's nginx failed during the %s; the first: %s", len(failures), total, step.what, failures[0])
		}
		t.Logf("%d requests during the %s (%s): %v", total, step.what, r.took.Round(time.Millisecond), versions)
		if v, err := p.version("zakupai.localhost"); err != nil || v != step.version {
			t.Errorf("after the %s: version %q, %v; want %s (answered during it: %v)", step.what, v, err, step.version, versions)
		}
	}
}

// TestProxyDeployFailsBack: a deploy behind nginx whose health check fails
// after nginx moved to the new containers moves it back to the old ones,
// which never stopped, and gives them their names back: no request fails,
// and the site answers the old version after it.
func TestProxyDeployFailsBack(t *testing.T) {
	p := newProxyStack(t, `
# The calc service's health check looks where nothing answers: every
# deploy in this environment fails at its cutover.
environment "e2e-unhealthy" {
  extends  = "e2e"
  services = { calc = { url = "http://127.0.0.1:1" } }
}
`)
	wantCode(t, p.zrun(t, "workflow", "proxy", "--env", "e2e"), 0)
	wantCode(t, p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1"), 0)
	before := p.ids(t)

	stop := p.load("zakupai.localhost")
	r := p.zrun(t, "workflow", "deploy", "--env", "e2e-unhealthy", "--param", "version=2", "--param", "ready_timeout=20s")
	total, versions, failures := stop()
	wantCode(t, r, exitRunFailed)
	wantContains(t, "deploy", r.stdout, `step.cutover/step.route["web"] ok`, `step.cutover/step.unroute["web"] ok`, `step.cutover/step.reinstate["web"] ok`)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests through nginx failed during the failed deploy; the first: %s", len(failures), total, failures[0])
	}
	if versions["2"] == 0 {
		t.Errorf("versions answered during the deploy: %v; want 2 too (nginx had moved to it before the health check)", versions)
	}
	if v, err := p.version("zakupai.localhost"); err != nil || v != "1" {
		t.Errorf("after the failed deploy: version %q, %v; want 1", v, err)
	}
	after := p.ids(t)
	for _, name := range []string{"gateway", "web"} {
		if after[p.prefix+name] != before[p.prefix+name] {
			t.Errorf("%s: container %s after the failed deploy, want the one before it (%s) back", name, after[p.prefix+name], before[p.prefix+name])
		}
	}
}
