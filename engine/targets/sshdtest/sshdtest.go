package sshdtest

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is the server binary the tests run.
const SSHD = "/usr/sbin/sshd"

// Passphrase protects Server.PassphraseKeyFile. It is a test value only.
const Passphrase = "correct horse battery staple"

// Options says how to start a server. The zero value (or nil) listens on
// 127.0.0.1 on a free port.
type Options struct {
	// Addr is the loopback address to listen on ("" means 127.0.0.1).
	Addr string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// Config holds extra sshd_config lines, appended to the generated ones.
	Config []string
	// Netns runs the server in that network namespace (ip netns; entered
	// with nsenter): a machine of its own, reached at Addr (required),
	// port 22 unless Port says otherwise.
	Netns string
	// Binds runs the server in a mount namespace of its own (unshare -m)
	// where each Bind's Src is bind-mounted over its Dst first: the
	// server, and every command it runs, sees the copies (a firewall's
	// /etc/ufw) while the rest of the machine keeps the originals.
	Binds []Bind
}

// Bind is a bind mount of Options.Binds.
type Bind struct {
	// Src is the file or folder mounted; Dst the existing path it hides.
	Src, Dst string
}

// Server is a running sshd.
type Server struct {
	// Addr and Port are where it listens.
	Addr string
	Port int
	// User is the user to log in as (the test's own).
	User string
	// HostKey is its host public key in authorized_keys form
	// ("ssh-ed25519 AAAA..."), and HostKeyFingerprint its SHA256 form.
	HostKey            string
	HostKeyFingerprint string
	// KeyFile is a client private key the server accepts, without a
	// passphrase; PassphraseKeyFile another, encrypted with Passphrase.
	// Signer is KeyFile's key, for an in-memory agent.
	KeyFile           string
	PassphraseKeyFile string
	Signer            ssh.Signer
	// KnownHostsFile trusts HostKey for Addr:Port; HashedKnownHostsFile
	// does too, with the host name hashed (HashKnownHosts yes).
	KnownHostsFile       string
	HashedKnownHostsFile string
	// Dir holds the server's files (config, keys).
	Dir string

	cmd      *exec.Cmd
	netns    string
	binds    []Bind
	stopOnce sync.Once
	log      *lockedBuffer
	done     chan struct{}
}

// Start starts an sshd for the test and stops it when the test ends.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	Require(t)
	s, err := start(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd on %s:%d logged:\n%s", s.Addr, s.Port, s.Log())
		}
	})
	return s
}

// StartMany starts n servers in parallel on 127.0.0.2, 127.0.0.3... (a
// fleet of distinct hosts), each with its own keys.
func StartMany(t testing.TB, n int) []*Server {
	t.Helper()
	Require(t)
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = start(dir, &Options{Addr: fmt.Sprintf("127.0.0.%d", i+2)})
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, s := range servers {
			if s != nil {
				s.Stop()
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return servers
}

// Require skips the test when sshd is not installed, or fails it under
// CI=true.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SSHD); err == nil {
		return
	}
	msg := fmt.Sprintf("%s is missing: install it with `apt-get install openssh-server`", SSHD)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func start(dir string, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	if _, err := os.Stat(SSHD); err != nil {
		return nil, fmt.Errorf("%s is missing: install it with `apt-get install openssh-server`", SSHD)
	}
	// sshd refuses to start without its privilege separation directory.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, err
		}
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: opts.Addr, Port: opts.Port, User: u.Username, Dir: dir,
		log: &lockedBuffer{}, done: make(chan struct{})}
	if s.Addr == "" {
		s.Addr = "127.0.0.1"
	}
	if err := s.writeKeys(); err != nil {
		return nil, err
	}
	s.binds = opts.Binds
	if opts.Netns != "" {
		s.netns = opts.Netns
		if s.Port == 0 {
			s.Port = 22
		}
	}
	if s.Port == 0 {
		if s.Port, err = freePort(s.Addr); err != nil {
			return nil, err
		}
	}
	if err := s.writeKnownHosts(); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(s.config(opts.Config)), 0o600); err != nil {
		return nil, err
	}
	return s, s.run(config)
}

func (s *Server) config(extra []string) string {
	lines := []string{
		fmt.Sprintf("ListenAddress %s:%d", s.Addr, s.Port),
		"HostKey " + filepath.Join(s.Dir, "host_ed25519"),
		"PidFile none",
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys"),
		"StrictModes no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"AllowTcpForwarding yes",
		"AllowStreamLocalForwarding yes",
		"PermitRootLogin yes",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
		// A fleet test opens many sessions and connections at once.
		"MaxSessions 200",
		"MaxStartups 200",
		"UseDNS no",
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

func (s *Server) writeKeys() error {
	hostPub, hostPEM, err := newKey("")
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(s.Dir, "host_ed25519"), hostPEM); err != nil {
		return err
	}
	s.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostPub)))
	s.HostKeyFingerprint = ssh.FingerprintSHA256(hostPub)

	clientPub, clientPEM, err := newKey("")
	if err != nil {
		return err
	}
	s.KeyFile = filepath.Join(s.Dir, "id_ed25519")
	if err := writePEM(s.KeyFile, clientPEM); err != nil {
		return err
	}
	if s.Signer, err = ssh.ParsePrivateKey(pem.EncodeToMemory(clientPEM)); err != nil {
		return err
	}
	lockedPub, lockedPEM, err := newKey(Passphrase)
	if err != nil {
		return err
	}
	s.PassphraseKeyFile = filepath.Join(s.Dir, "id_ed25519_passphrase")
	if err := writePEM(s.PassphraseKeyFile, lockedPEM); err != nil {
		return err
	}
	authorized := append(ssh.MarshalAuthorizedKey(clientPub), ssh.MarshalAuthorizedKey(lockedPub)...)
	return os.WriteFile(filepath.Join(s.Dir, "authorized_keys"), authorized, 0o600)
}

func (s *Server) writeKnownHosts() error {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKey))
	if err != nil {
		return err
	}
	addr := knownhosts.Normalize(net.JoinHostPort(s.Addr, strconv.Itoa(s.Port)))
	s.KnownHostsFile = filepath.Join(s.Dir, "known_hosts")
	if err := os.WriteFile(s.KnownHostsFile, []byte(knownhosts.Line([]string{addr}, pub)+"\n"), 0o600); err != nil {
		return err
	}
	s.HashedKnownHostsFile = filepath.Join(s.Dir, "known_hosts_hashed")
	hashed := knownhosts.Line([]string{knownhosts.HashHostname(addr)}, pub) + "\n"
	return os.WriteFile(s.HashedKnownHostsFile, []byte(hashed), 0o600)
}

func (s *Server) run(config string) error {
	args := []string{SSHD, "-D", "-e", "-f", config}
	if len(s.binds) > 0 {
		// unshare and nsenter exec, so the server keeps the process's pid.
		script := ""
		for _, b := range s.binds {
			script += fmt.Sprintf("mount --bind %q %q && ", b.Src, b.Dst)
		}
		args = append([]string{"unshare", "-m", "--propagation", "private", "--", "sh", "-c", script + `exec "$@"`, "sshd"}, args...)
	}
	if s.netns != "" {
		args = append([]string{"nsenter", "--net=/var/run/netns/" + s.netns}, args...)
	}
	s.cmd = exec.Command(args[0], args[1:]...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", SSHD, err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		once := sync.OnceFunc(func() { close(ready) })
		for sc.Scan() {
			s.log.writeLine(sc.Text())
			if strings.HasPrefix(sc.Text(), "Server listening on") {
				once()
			}
		}
		s.cmd.Wait()
	}()
	select {
	case <-ready:
		return nil
	case <-s.done:
		return fmt.Errorf("sshd on %s:%d exited at start:\n%s", s.Addr, s.Port, s.Log())
	case <-time.After(20 * time.Second):
		s.Stop()
		return fmt.Errorf("sshd on %s:%d did not start within 20s:\n%s", s.Addr, s.Port, s.Log())
	}
}

// Stop kills the server and its connections; Start's cleanup does it too.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.stopOnce.Do(s.kill)
}

func (s *Server) kill() {
	// Connections' children outlive the listener: kill them first.
	s.KillConnections()
	s.cmd.Process.Kill()
	<-s.done
}

// Log is what the server has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Logins counts the successful authentications logged so far: one per
// connection opened.
func (s *Server) Logins() int {
	return strings.Count(s.Log(), "Accepted publickey for ")
}

// ConnectionPIDs lists the server's per-connection children (one per
// connection, authenticated or not).
func (s *Server) ConnectionPIDs() []int {
	return children(s.cmd.Process.Pid)
}

// KillConnections kills every connection's processes (sshd's children and
// everything below them, the commands they run included), as a dropped
// link would end them; the server keeps listening.
func (s *Server) KillConnections() {
	for _, pid := range descendants(s.cmd.Process.Pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// WaitLog waits until the log contains substr, for up to 10s.
func (s *Server) WaitLog(t testing.TB, substr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(s.Log(), substr) {
			return
		}
	}
	t.Fatalf("sshd never logged %q:\n%s", substr, s.Log())
}

// descendants lists pid's descendants, deepest last.
func descendants(pid int) []int {
	var all []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		kids := children(queue[0])
		all = append(all, kids...)
		queue = append(queue, kids...)
	}
	return all
}

// children lists pid's children from /proc.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: fields start after it.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, child)
		}
	}
	return kids
}

func newKey(passphrase string) (ssh.PublicKey, *pem.Block, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "sshdtest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "sshdtest", []byte(passphrase))
	}
	return sshPub, block, err
}

func writePEM(path string, block *pem.Block) error {
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) writeLine(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line)
	b.buf.WriteByte('\n')
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
