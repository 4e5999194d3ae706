package sshdtest_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
)

func TestStartManyAcceptsTheirKeys(t *testing.T) {
	begin := time.Now()
	servers := sshdtest.StartMany(t, 20)
	t.Logf("20 servers started in %s", time.Since(begin))
	for _, s := range servers {
		for _, known := range []string{s.KnownHostsFile, s.HashedKnownHostsFile} {
			hostKeys, err := knownhosts.New(known)
			if err != nil {
				t.Fatal(err)
			}
			client, err := ssh.Dial("tcp", net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)), &ssh.ClientConfig{
				User:            s.User,
				Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.Signer)},
				HostKeyCallback: hostKeys,
			})
			if err != nil {
				t.Fatalf("%s:%d: %v", s.Addr, s.Port, err)
			}
			client.Close()
		}
	}
}

func TestKillConnections(t *testing.T) {
	s := sshdtest.Start(t, nil)
	client, err := ssh.Dial("tcp", net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)), &ssh.ClientConfig{
		User:            s.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.Signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if n := len(s.ConnectionPIDs()); n != 1 {
		t.Errorf("%d connection processes, want 1", n)
	}
	s.KillConnections()
	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection outlived its killed sshd child")
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// TestBinds: the server and its sessions see the bind-mounted copy; the
// machine keeps the original.
func TestBinds(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts in a mount namespace need root")
	}
	dir := t.TempDir()
	orig, dup := filepath.Join(dir, "orig"), filepath.Join(dir, "copy")
	if err := os.WriteFile(orig, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dup, []byte("copy"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := sshdtest.Start(t, &sshdtest.Options{Binds: []sshdtest.Bind{{Src: dup, Dst: orig}}})
	client, err := ssh.Dial("tcp", net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)), &ssh.ClientConfig{
		User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(s.Signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := session.Output("cat " + orig)
	if err != nil || string(out) != "copy" {
		t.Errorf("a session reads %q (%v), want the copy", out, err)
	}
	if data, _ := os.ReadFile(orig); string(data) != "original" {
		t.Errorf("the machine reads %q, want the original", data)
	}
}
