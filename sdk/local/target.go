package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// DefaultGracePeriod is how long Exec waits after SIGTERM before it sends
// SIGKILL to a cancelled command's process group.
const DefaultGracePeriod = 5 * time.Second

// Option configures the local target.
type Option func(*target)

// WithGracePeriod sets how long a cancelled command may take to exit after
// SIGTERM before its process group is killed. It also bounds how long Exec
// keeps reading output held open by background processes after the
// command itself has exited.
func WithGracePeriod(d time.Duration) Option {
	return func(t *target) {
		if d > 0 {
			t.grace = d
		}
	}
}

// WithoutEnv keeps the named variables of this process's environment
// from the commands it runs (a plugin's go-plugin handshake variables, for
// one). Command.Env may still set them.
func WithoutEnv(names ...string) Option {
	return func(t *target) {
		if t.drop == nil {
			t.drop = map[string]bool{}
		}
		for _, n := range names {
			t.drop[n] = true
		}
	}
}

// Target returns the sdk.Target for the machine zrun runs on. Its name is
// "local".
func Target(opts ...Option) sdk.Target {
	t := &target{grace: DefaultGracePeriod}
	for _, o := range opts {
		o(t)
	}
	return t
}

// IsTarget reports whether t is a local target: the machine this process
// runs on, and so the one of every plugin process it starts.
func IsTarget(t sdk.Target) bool {
	_, ok := t.(*target)
	return ok
}

type target struct {
	grace time.Duration
	drop  map[string]bool
}

func (t *target) Name() string { return "local" }

// Exec runs cmd in its own process group, and stops what is left of the
// group when the command ends: SIGTERM, then SIGKILL after the grace
// period. Cancelling ctx does the same while it runs. Descendants that
// leave the group (setsid, a double fork) carry CommandIDEnv; a subreaper
// (BecomeSubreaper) stops them too once the command has ended. A command
// killed by a signal reports exit code 128+signal, as shells do. When ctx
// ends Exec returns its cause as the error, along with the exit code.
// A command with Sudo runs through `sudo -n --`, or directly when this
// process is root already.
func (t *target) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	if cmd == nil || len(cmd.Args) == 0 || cmd.Args[0] == "" {
		return nil, errors.New("local: no command to run")
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	id := newCommandID()
	defer commandEnded(id) // on every path; a second call does nothing
	args := cmd.Args
	if cmd.Sudo && os.Geteuid() != 0 {
		// -n: a password prompt would hang a step; fail instead.
		args = append([]string{"sudo", "-n", "--"}, args...)
	}
	c := exec.Command(args[0], args[1:]...)
	c.Dir = cmd.Dir
	c.Env = t.env(cmd.Env, id)
	c.Stdin = cmd.Stdin
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A reader of stdin that never ends is left behind after the grace
	// period, as os/exec does.
	c.WaitDelay = t.grace
	out, err := startOutput(c, cmd.Stdout, cmd.Stderr)
	if err != nil {
		return nil, fmt.Errorf("start %q: %w", cmd.Args[0], err)
	}
	release, err := Spawn(func() (int, error) {
		if err := c.Start(); err != nil {
			return 0, err
		}
		return c.Process.Pid, nil
	})
	out.started()
	if err != nil {
		out.wait(0)
		return nil, startError(cmd, args[0], err)
	}
	defer release()

	k := &groupKiller{pgid: c.Process.Pid, grace: t.grace}
	stop := context.AfterFunc(ctx, k.terminate)
	werr := c.Wait()
	cancelled := !stop()
	k.finish()
	commandEnded(id)
	// Background processes that left the group may hold the output open;
	// stop reading it after the grace period.
	out.wait(t.grace)

	res := &sdk.ExecResult{ExitCode: exitCode(c.ProcessState)}
	if cancelled {
		return res, fmt.Errorf("%q stopped: %w", cmd.Args[0], context.Cause(ctx))
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) && !errors.Is(werr, exec.ErrWaitDelay) {
		return res, fmt.Errorf("run %q: %w", cmd.Args[0], werr)
	}
	return res, nil
}

// startError explains why cmd did not start; prog is what was run
// (sudo, for a command with Sudo).
func startError(cmd *sdk.Command, prog string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("command %q not found in PATH", prog)
	}
	if cmd.Dir != "" {
		// A missing directory fails the chdir in the child, which
		// os/exec reports as if the program were missing.
		if _, serr := os.Stat(cmd.Dir); serr != nil {
			return fmt.Errorf("start %q: working directory: %w", cmd.Args[0], serr)
		}
	}
	return fmt.Errorf("start %q: %w", cmd.Args[0], err)
}

// output copies a command's stdout and stderr from pipes of its own, so
// that Exec learns when the command exits before its output ends (os/exec
// waits for both).
type output struct {
	writes []*os.File // the command's ends, closed once it has started
	reads  []*os.File
	done   chan struct{}
	n      int
}

// startOutput gives c pipes for stdout and stderr; one pipe when both are
// the same writer, so their interleaving is the order of the writes.
func startOutput(c *exec.Cmd, stdout, stderr io.Writer) (*output, error) {
	o := &output{done: make(chan struct{}, 2)}
	pipe := func(w io.Writer) (*os.File, error) {
		if w == nil {
			return nil, nil
		}
		if f, ok := w.(*os.File); ok {
			return f, nil
		}
		r, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		o.writes, o.reads = append(o.writes, pw), append(o.reads, r)
		o.n++
		go func() {
			_, _ = io.Copy(w, r)
			o.done <- struct{}{}
		}()
		return pw, nil
	}
	var err error
	if c.Stdout, err = pipe(stdout); err != nil {
		o.closeAll()
		return nil, err
	}
	if stderr != nil && stderr == stdout {
		c.Stderr = c.Stdout
	} else if c.Stderr, err = pipe(stderr); err != nil {
		o.closeAll()
		return nil, err
	}
	return o, nil
}

// started closes this process's copies of the command's ends of the pipes.
func (o *output) started() {
	for _, w := range o.writes {
		_ = w.Close()
	}
}

// wait waits for the output to end, at most grace, then stops reading it.
func (o *output) wait(grace time.Duration) {
	timeout := time.After(grace)
	for got := 0; got < o.n; got++ {
		select {
		case <-o.done:
		case <-timeout:
			o.closeAll()
			for ; got < o.n; got++ {
				<-o.done
			}
			return
		}
	}
	o.closeAll()
}

func (o *output) closeAll() {
	for _, f := range append(o.writes, o.reads...) {
		_ = f.Close()
	}
}

// groupKiller stops a command's process group: SIGTERM first, SIGKILL
// after the grace period.
type groupKiller struct {
	pgid  int
	grace time.Duration

	mu     sync.Mutex
	killAt time.Time // zero until terminate
	done   bool
}

// terminate runs when ctx ends while the command runs.
func (k *groupKiller) terminate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done {
		return
	}
	k.killAt = time.Now().Add(k.grace)
	signalGroup(k.pgid, syscall.SIGTERM)
	time.AfterFunc(k.grace, k.kill)
}

func (k *groupKiller) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.done {
		_ = syscall.Kill(-k.pgid, syscall.SIGKILL)
	}
}

// finish runs once the command itself has exited and been reaped: what is
// left of its group gets SIGTERM, and SIGKILL if it is still there after
// the grace period (counted from the cancellation, if there was one).
// No signal is sent afterwards, so a recycled process id is never hit.
// The common case, an empty group, costs one system call.
func (k *groupKiller) finish() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.done = true
	if syscall.Kill(-k.pgid, syscall.SIGTERM) != nil {
		return // nothing left
	}
	_ = syscall.Kill(-k.pgid, syscall.SIGCONT)
	killAt := k.killAt
	if killAt.IsZero() {
		killAt = time.Now().Add(k.grace)
	}
	killed := false
	for {
		reapGroup(k.pgid)
		if syscall.Kill(-k.pgid, 0) != nil {
			return
		}
		if !killed && time.Now().After(killAt) {
			_ = syscall.Kill(-k.pgid, syscall.SIGKILL)
			killed = true
			killAt = time.Now().Add(k.grace) // then stop waiting
		} else if killed && time.Now().After(killAt) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signalGroup sends sig to a process group, and SIGCONT so that a stopped
// member gets it.
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
	_ = syscall.Kill(-pgid, syscall.SIGCONT)
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// env returns the process environment, less the dropped variables, with
// env laid over it and the command's id last. os/exec keeps the last of
// duplicate keys, so appending is enough.
func (t *target) env(env map[string]string, id string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	merged := os.Environ()
	if len(t.drop) > 0 {
		merged = slices.DeleteFunc(merged, func(kv string) bool {
			name, _, _ := strings.Cut(kv, "=")
			return t.drop[name]
		})
	}
	for _, k := range keys {
		merged = append(merged, k+"="+env[k])
	}
	return append(merged, CommandIDEnv+"="+id)
}

func (t *target) Dial(ctx context.Context, network, address string) (sdk.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	conn, ok := c.(sdk.Conn) // TCP and unix connections can half-close
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("dial %s %s: the connection cannot half-close", network, address)
	}
	return conn, nil
}

// Interface guards
var _ sdk.Target = (*target)(nil)
