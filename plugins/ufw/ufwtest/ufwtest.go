// Package ufwtest gives a test a machine of its own with a real ufw: a
// network namespace reached through a veth pair, its own copy of
// /etc/ufw and /etc/default/ufw (bind-mounted in a mount namespace), and
// an sshd running inside both, so that every command run over SSH sees
// and changes only the namespace's firewall. The host's own /etc/ufw and
// iptables are never touched.
package ufwtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/sdk"
)

// UFW is the ufw the tests run.
const UFW = "/usr/sbin/ufw"

// Namespace is one test's firewalled machine.
type Namespace struct {
	// Name is the network namespace's name (ip netns).
	Name string
	// HostAddr is the host's end of the veth pair, Addr the namespace's.
	HostAddr, Addr string
	// Dir holds the namespace's /etc/ufw (Dir/ufw), /etc/default/ufw
	// (Dir/default-ufw) and /var/tmp (Dir/var-tmp).
	Dir string
	// Server is the sshd inside; Target reaches it as host "srv" through
	// zrun's own SSH communicator.
	Server *sshdtest.Server
	Target sdk.Target
	// Pool is the target's connection pool.
	Pool *targets.Pool
}

var (
	mu   sync.Mutex
	next int
)

// Require skips the test when what it needs is missing (or fails it
// under CI=true).
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, bin := range []string{UFW, "/usr/sbin/iptables"} {
		if _, err := os.Stat(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	for _, bin := range []string{"ip", "nsenter", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	msg := ""
	switch {
	case os.Geteuid() != 0:
		msg = "the ufw tests need root (network namespaces and bind mounts)"
	case len(missing) > 0:
		msg = strings.Join(missing, ", ") + " missing: install them with `apt-get install ufw iptables iproute2 util-linux`"
	default:
		sshdtest.Require(t)
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Start makes a namespace with a fresh, inactive ufw (ufw's shipped
// rules files) and an sshd on Addr:22, and removes everything when the
// test ends.
func Start(t testing.TB) *Namespace {
	t.Helper()
	Require(t)
	mu.Lock()
	n := next
	next++
	mu.Unlock()
	id := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	subnet, err := freeSubnet(os.Getpid() + n)
	if err != nil {
		t.Fatal(err)
	}
	ns := &Namespace{Name: "zufw" + id, HostAddr: subnet + ".1", Addr: subnet + ".2", Dir: t.TempDir()}
	host, peer := "zufwh"+id, "zufwn"+id
	t.Cleanup(func() { ns.remove(host) })
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns.Name)
	ip("link", "add", host, "type", "veth", "peer", "name", peer)
	ip("link", "set", peer, "netns", ns.Name)
	ip("addr", "add", ns.HostAddr+"/30", "dev", host)
	ip("link", "set", host, "up")
	ip("-n", ns.Name, "addr", "add", ns.Addr+"/30", "dev", peer)
	ip("-n", ns.Name, "link", "set", peer, "up")
	ip("-n", ns.Name, "link", "set", "lo", "up")
	ns.copyConfig(t)

	ns.Server = sshdtest.Start(t, &sshdtest.Options{Addr: ns.Addr, Netns: ns.Name, Binds: []sshdtest.Bind{
		{Src: filepath.Join(ns.Dir, "ufw"), Dst: "/etc/ufw"},
		{Src: filepath.Join(ns.Dir, "default-ufw"), Dst: "/etc/default/ufw"},
		// The confirmed apply's snapshots stay in the test's folder too.
		{Src: filepath.Join(ns.Dir, "var-tmp"), Dst: "/var/tmp"},
	}})
	ns.Pool = targets.NewPool()
	t.Cleanup(func() { _ = ns.Pool.Close() })
	ns.Target, err = ns.Pool.Target(t.Context(), ns.Config())
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// Config is how zrun reaches the namespace's sshd.
func (ns *Namespace) Config() *targets.Config {
	return &targets.Config{Name: "srv", Address: ns.Server.Addr, Port: ns.Server.Port, User: ns.Server.User,
		PrivateKeyFile: ns.Server.KeyFile, KnownHostsFile: ns.Server.KnownHostsFile, ConnectTimeout: 2 * time.Second}
}

// copyConfig writes the namespace's /etc/ufw: the host's folder with
// ufw's shipped (empty, inactive) user rules and ufw.conf.
func (ns *Namespace) copyConfig(t testing.TB) {
	t.Helper()
	dir := filepath.Join(ns.Dir, "ufw")
	if out, err := exec.Command("cp", "-a", "/etc/ufw", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy /etc/ufw: %v: %s", err, out)
	}
	for src, dst := range map[string]string{
		"/usr/share/ufw/iptables/user.rules":  "user.rules",
		"/usr/share/ufw/iptables/user6.rules": "user6.rules",
		"/usr/share/ufw/ufw.conf":             "ufw.conf",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(ns.Dir, "var-tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/etc/default/ufw")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ns.Dir, "default-ufw"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// File reads one of the namespace's ufw files by its path on the
// machine ("/etc/ufw/user.rules", "/etc/default/ufw").
func (ns *Namespace) File(t testing.TB, path string) string {
	t.Helper()
	local := filepath.Join(ns.Dir, "ufw", strings.TrimPrefix(path, "/etc/ufw/"))
	if path == "/etc/default/ufw" {
		local = filepath.Join(ns.Dir, "default-ufw")
	}
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Iptables lists the namespace's IPv4 rules (iptables -S).
func (ns *Namespace) Iptables(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net=/var/run/netns/"+ns.Name, "iptables", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S in %s: %v: %s", ns.Name, err, out)
	}
	return string(out)
}

// Listen accepts TCP connections on port inside the namespace (and
// closes them at once) until the test ends.
func (ns *Namespace) Listen(t testing.TB, port int) {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result)
	go func() {
		// The thread enters the namespace and is never given back to the
		// scheduler: the goroutine ends locked, and the thread with it.
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns.Name)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("setns %s: %w", ns.Name, err)}
			return
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ns.Addr, strconv.Itoa(port)))
		done <- result{l, err}
	}()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Cleanup(func() { res.l.Close() })
	go func() {
		for {
			c, err := res.l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// Reach says what a TCP connection from the host to port in the
// namespace meets: "open" (connected), "refused" (a reset: a reject rule)
// or "filtered" (no answer within the timeout: a deny).
func (ns *Namespace) Reach(port int) string {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ns.Addr, strconv.Itoa(port)), 700*time.Millisecond)
	if err == nil {
		c.Close()
		return "open"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "refused"
	}
	return "filtered"
}

// Processes lists the command lines of the processes in the namespace
// (its sshd and sessions, a pending revert), the test's own left out.
func (ns *Namespace) Processes(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", ns.Name).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", ns.Name, err)
	}
	var cmds []string
	for _, f := range strings.Fields(string(out)) {
		if f == strconv.Itoa(os.Getpid()) {
			continue
		}
		if cmdline, err := os.ReadFile("/proc/" + f + "/cmdline"); err == nil {
			cmds = append(cmds, strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return cmds
}

// remove kills what still runs in the namespace (a pending revert) and
// deletes it and the host's end of the veth pair.
func (ns *Namespace) remove(host string) {
	if out, err := exec.Command("ip", "netns", "pids", ns.Name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			// The test's own process is there too (Listen's threads).
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = exec.Command("ip", "netns", "del", ns.Name).Run()
	_ = exec.Command("ip", "link", "del", host).Run()
}

// reserved are the subnets this process's namespaces use.
var reserved = map[int]bool{}

// freeSubnet picks a 10.252.X.0/30 (X from seed on) that no interface of
// the host uses, and returns "10.252.X" (the namespace's .2, the host's .1).
func freeSubnet(seed int) (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	mu.Lock()
	defer mu.Unlock()
	used := map[int]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if v4 := ipn.IP.To4(); v4 != nil && v4[0] == 10 && v4[1] == 252 {
				used[int(v4[2])] = true
			}
		}
	}
	for i := range 250 {
		x := (seed+i)%250 + 1
		if !used[x] && !reserved[x] {
			reserved[x] = true
			return fmt.Sprintf("10.252.%d", x), nil
		}
	}
	return "", errors.New("no free 10.252.X.0/30 subnet")
}
