package targets_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/sdk"
)

func TestAuth(t *testing.T) {
	s := sshdtest.Start(t, nil)
	agentSock := serveAgent(t, s)
	noKeyAgent := serveAgent(t, nil)
	tests := map[string]struct {
		edit   func(*targets.Config)
		agent  string
		want   []string // in the error; none: connects
		absent string   // never in the error
	}{
		"key":                 {edit: func(c *targets.Config) {}},
		"passphrase key":      {edit: func(c *targets.Config) { c.PrivateKeyFile, c.Passphrase = s.PassphraseKeyFile, sshdtest.Passphrase }},
		"unneeded passphrase": {edit: func(c *targets.Config) { c.Passphrase = "spare" }},
		"passphrase missing": {
			edit: func(c *targets.Config) { c.PrivateKeyFile = s.PassphraseKeyFile },
			want: []string{s.PassphraseKeyFile, "protected by a passphrase", "passphrase = secret."},
		},
		"wrong passphrase": {
			edit:   func(c *targets.Config) { c.PrivateKeyFile, c.Passphrase = s.PassphraseKeyFile, "hunter2" },
			want:   []string{s.PassphraseKeyFile, "passphrase does not decrypt"},
			absent: "hunter2",
		},
		"missing key file": {
			edit: func(c *targets.Config) { c.PrivateKeyFile = "/nonexistent/id" },
			want: []string{"/nonexistent/id"},
		},
		"agent":          {edit: func(c *targets.Config) { c.PrivateKeyFile, c.Agent = "", true }, agent: agentSock},
		"agent and key":  {edit: func(c *targets.Config) { c.Agent = true }, agent: noKeyAgent},
		"agent, no key":  {edit: func(c *targets.Config) { c.PrivateKeyFile, c.Agent = "", true }, agent: noKeyAgent, want: []string{"unable to authenticate"}},
		"agent unset":    {edit: func(c *targets.Config) { c.PrivateKeyFile, c.Agent = "", true }, want: []string{"SSH_AUTH_SOCK is not set"}},
		"no auth at all": {edit: func(c *targets.Config) { c.PrivateKeyFile = "" }, want: []string{"no way to authenticate"}},
		"no address":     {edit: func(c *targets.Config) { c.Address = "" }, want: []string{`host "web" has no address`}},
		"bad port":       {edit: func(c *targets.Config) { c.Port = 70000 }, want: []string{"port 70000 is not a TCP port"}},
		"refused": {
			edit: func(c *targets.Config) { c.Port = closedPort(t) },
			want: []string{"connecting to host web", "connection refused"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", tc.agent)
			cfg := config(s)
			tc.edit(cfg)
			pool := targets.NewPool()
			defer pool.Close()
			tg, err := pool.Target(t.Context(), cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}})
				return
			}
			if err == nil {
				t.Fatal("connected")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tc.absent != "" && strings.Contains(err.Error(), tc.absent) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

// serveAgent serves an in-memory ssh-agent holding s's key (none for a
// nil s) on a unix socket, and returns the socket's path.
func serveAgent(t *testing.T, s *sshdtest.Server) string {
	t.Helper()
	keyring := agent.NewKeyring()
	if s != nil {
		raw, err := os.ReadFile(s.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		key, err := ssh.ParseRawPrivateKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				agent.ServeAgent(keyring, c)
				c.Close()
			}()
		}
	}()
	return sock
}

func TestJump(t *testing.T) {
	jump := sshdtest.Start(t, &sshdtest.Options{Addr: "127.0.0.2"})
	inner := sshdtest.Start(t, &sshdtest.Options{Addr: "127.0.0.3"})
	cfg := config(inner)
	cfg.Jump = config(jump)
	cfg.Jump.Name = "bastion"
	pool := targets.NewPool()
	defer pool.Close()
	tg, err := pool.Target(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	run(t.Context(), t, tg, &sdk.Command{Args: []string{"sh", "-c", "echo $SSH_CONNECTION"}, Stdout: &out})
	if !strings.Contains(out.String(), " 127.0.0.3 ") {
		t.Errorf("SSH_CONNECTION = %q, want the inner host's", out.String())
	}
	if jump.Logins() != 1 || inner.Logins() != 1 {
		t.Errorf("%d logins on the jump host, %d on the inner one; want 1 each", jump.Logins(), inner.Logins())
	}
	if res, err := targets.Check(t.Context(), cfg); err != nil || res.Fingerprint != inner.HostKeyFingerprint {
		t.Errorf("Check through the jump host: %+v %v", res, err)
	}

	// A jump host whose key is unknown says which host failed.
	cfg2 := config(inner)
	cfg2.Name = "db"
	cfg2.Jump = config(jump)
	cfg2.Jump.Name = "bastion"
	cfg2.Jump.KnownHostsFile = inner.KnownHostsFile
	if _, err := targets.NewPool().Target(t.Context(), cfg2); err == nil || !strings.Contains(err.Error(), "through jump host bastion") {
		t.Errorf("err = %v, want the jump host named", err)
	}
}

// TestOneConnectionShared starts 50 users of one host at once: they share
// one dial and one connection.
func TestOneConnectionShared(t *testing.T) {
	s := sshdtest.Start(t, nil)
	pool := targets.NewPool()
	defer pool.Close()
	var wg sync.WaitGroup
	targetsSeen := make([]sdk.Target, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg, err := pool.Target(t.Context(), config(s))
			if err != nil {
				t.Error(err)
				return
			}
			targetsSeen[i] = tg
			if _, err := tg.Exec(t.Context(), &sdk.Command{Args: []string{"true"}}); err != nil {
				t.Error(err)
			}
			if _, err := tg.Stat(t.Context(), "/"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := s.Logins(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	for _, tg := range targetsSeen {
		if tg != targetsSeen[0] {
			t.Fatal("the pool returned two targets for one host")
		}
	}
}

// TestDroppedConnection kills the connection's sshd processes while a
// command runs: the command fails saying so, the next one reconnects.
func TestDroppedConnection(t *testing.T) {
	tg, s := target(t)
	ctx := t.Context()
	// Killed once the command runs, not while the login shell reads its
	// startup files (whose locks, a killed pyenv's, would outlive it).
	started := &notify{c: make(chan struct{})}
	go func() {
		<-started.c
		s.KillConnections()
	}()
	_, err := tg.Exec(ctx, &sdk.Command{Args: []string{"sh", "-c", "echo started; sleep 30"}, Stdout: started})
	if err == nil || !strings.Contains(err.Error(), "connection to web") || !strings.Contains(err.Error(), "lost while running sh -c") {
		t.Fatalf("err = %v, want the lost connection said", err)
	}
	var out bytes.Buffer
	run(ctx, t, tg, &sdk.Command{Args: []string{"echo", "back"}, Stdout: &out})
	if out.String() != "back\n" {
		t.Errorf("after reconnecting: %q", out.String())
	}
	if n := s.Logins(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}

	// With the server gone, the reconnect fails, once, and says why.
	s.KillConnections()
	s.Stop()
	waitDead(t, tg)
	_, err = tg.Exec(ctx, &sdk.Command{Args: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "connecting to host web") {
		t.Errorf("err = %v, want the failing reconnect said", err)
	}
}

// waitDead waits until tg's dropped connection has been noticed.
func waitDead(t *testing.T, tg sdk.Target) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if _, err := tg.Exec(ctx, &sdk.Command{Args: []string{"true"}}); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notify closes c on its first write.
type notify struct {
	once sync.Once
	c    chan struct{}
}

func (n *notify) Write(p []byte) (int, error) {
	n.once.Do(func() { close(n.c) })
	return len(p), nil
}

func TestClosedPoolDialsNoMore(t *testing.T) {
	s := sshdtest.Start(t, nil)
	pool := targets.NewPool()
	tg, err := pool.Target(t.Context(), config(s))
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	if _, err := tg.Exec(t.Context(), &sdk.Command{Args: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Exec after Close: %v, want the connections closed", err)
	}
	if _, err := pool.Target(t.Context(), config(s)); err == nil {
		t.Error("Target after Close connected")
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestConnectTimeout connects to a server that accepts and never speaks.
func TestConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := &targets.Config{Name: "mute", Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
		HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2MxijG5wY2dJ/+X+iN7NdLFdzGXyQN7bYUFmryrAfr",
		Agent:   true, ConnectTimeout: 300 * time.Millisecond}
	t.Setenv("SSH_AUTH_SOCK", serveAgent(t, nil))
	begin := time.Now()
	_, err = targets.NewPool().Target(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "connect timeout 300ms") {
		t.Errorf("err = %v, want the timeout said", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestDroppedDuringWrite kills the connection while a file is written:
// Write or Close fails (no hang), the destination is untouched, and the
// next file operation reconnects.
func TestDroppedDuringWrite(t *testing.T) {
	tg, s := target(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	w, err := tg.Create(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	s.KillConnections()
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 64 && err == nil; i++ {
			_, err = w.Write(make([]byte, 1<<20))
		}
		if err == nil {
			err = w.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the file was published over a dead connection")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("writing over a dead connection hangs")
	}
	if _, err := os.Stat(name); err == nil {
		t.Error("the destination exists")
	}
	if _, err := tg.Stat(t.Context(), dir); err != nil {
		t.Errorf("Stat after reconnecting: %v", err)
	}
}

// TestTwentyHosts runs one command on 20 hosts at once through one pool.
func TestTwentyHosts(t *testing.T) {
	servers := sshdtest.StartMany(t, 20)
	pool := targets.NewPool()
	defer pool.Close()
	begin := time.Now()
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, len(servers))
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg, err := pool.Target(t.Context(), config(s))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := tg.Exec(t.Context(), &sdk.Command{Args: []string{"sh", "-c", "echo $SSH_CONNECTION"}, Stdout: &outs[i]}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	t.Logf("20 hosts: connected and ran a command in %s", time.Since(begin))
	for i, s := range servers {
		if !strings.Contains(outs[i].String(), " "+s.Addr+" ") {
			t.Errorf("host %d ran on %q, want %s", i, outs[i].String(), s.Addr)
		}
	}
}
