package main

// The zero-downtime deploy through the real binary: the shipped proxy
// workflow puts a real nginx (the test's own, on loopback) with TLS in
// front of the stack, and a deploy moves nginx's upstreams to the new
// containers while a client sends requests through it: none may fail.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
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
)

// testNginxConf is the test's nginx.conf: everything below dir, and every
// file of dir/conf.d included (where the proxy workflow writes).
const testNginxConf = `worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[1]s/conf.d/*.conf;
}
`

// proxyStack is a stack project whose environment puts the test's nginx in
// front of it, and the TLS client that reaches the site through it.
type proxyStack struct {
	*stackProject
	https  int
	client *http.Client
}

func newProxyStack(t *testing.T) *proxyStack {
	t.Helper()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(nginx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nginx is missing: .ci/run installs nginx-light")
		}
		t.Skip("nginx is missing: apt-get install nginx-light")
	}
	dir := t.TempDir()
	for _, sub := range []string{"conf.d", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(t, conf, fmt.Sprintf(testNginxConf, dir))
	// nginx runs as a service runs on a server: started here, not by a
	// run (whose processes end with it).
	if out, err := exec.Command(nginx, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("starting nginx: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		exec.Command(nginx, "-c", conf, "-s", "stop").Run()
		for range 50 {
			if _, err := os.Stat(filepath.Join(dir, "nginx.pid")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	cert, key, pool := testCertificate(t, "zakupai.localhost", "api.zakupai.localhost")
	writeFile(t, filepath.Join(dir, "site.crt"), cert)
	writeFile(t, filepath.Join(dir, "site.key"), key)

	p := &proxyStack{stackProject: newStackProject(t, ""), https: freeTCPPort(t)}
	p.env = append(p.env, "ZAKUPAI_PROXY=1",
		"ZAKUPAI_NGINX_CONF="+conf, "ZAKUPAI_NGINX_CONF_DIR="+filepath.Join(dir, "conf.d"),
		fmt.Sprintf("ZAKUPAI_HTTPS_PORT=%d", p.https), fmt.Sprintf("ZAKUPAI_HTTP_PORT=%d", freeTCPPort(t)),
		"ZAKUPAI_TLS_CERTIFICATE="+filepath.Join(dir, "site.crt"), "ZAKUPAI_TLS_KEY="+filepath.Join(dir, "site.key"))
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		// Every name resolves to the test's nginx.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", p.https))
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
	p := newProxyStack(t)
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

// testCertificate is a self-signed certificate for names, its key (PEM)
// and a pool that trusts it.
func testCertificate(t *testing.T, names ...string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), pool
}
