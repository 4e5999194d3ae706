// Package nginxtest gives tests a real nginx of their own: the binary
// (the test skips without it, and fails under CI=true), a main
// configuration whose every path is below a temporary folder (on loopback
// ports the test picks), and a test PKI for TLS. The nginx plugin's tests
// and the end-to-end tests share it.
package nginxtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Binary finds nginx, or skips the test (fails it under CI, which
// installs it).
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed (CI=true): apt-get install -y nginx-light")
	}
	t.Skip("nginx is not installed: apt-get install -y nginx-light")
	return ""
}

// Dirs is an nginx's folder: its main configuration, pid file and conf.d
// (which the main configuration includes).
type Dirs struct {
	Dir, Config, ConfD, PidFile string
}

// mainConf is the test's nginx.conf: everything below dir, one worker,
// and every file in conf.d included.
const mainConf = `user root;
worker_processes 1;
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

// Prepare writes a main configuration in a new temporary folder, and
// makes its conf.d and temp folders. Nothing is started.
func Prepare(t testing.TB) *Dirs {
	t.Helper()
	dir := t.TempDir()
	d := &Dirs{Dir: dir, Config: filepath.Join(dir, "nginx.conf"), ConfD: filepath.Join(dir, "conf.d"), PidFile: filepath.Join(dir, "nginx.pid")}
	for _, sub := range []string{d.ConfD, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(d.Config, []byte(fmt.Sprintf(mainConf, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// PKI is a CA and a certificate it signed, in PEM, and a pool trusting it.
type PKI struct {
	Pool      *x509.CertPool
	Cert, Key string
}

// NewPKI makes a CA and a certificate it signs for names (DNS names) and
// 127.0.0.1, valid for an hour either side of now.
func NewPKI(t testing.TB, names ...string) *PKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "zrun nginx test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &PKI{
		Pool: pool,
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}
}
