package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// Exec runs cmd in its own process group so that cancelling ctx stops the
// command and everything it started: SIGTERM to the group at once, SIGKILL
// after the grace period. A command killed by a signal reports exit code
// 128+signal, as shells do. When ctx ends Exec returns its cause as the
// error, along with the exit code.
func (t *target) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	if cmd == nil || len(cmd.Args) == 0 || cmd.Args[0] == "" {
		return nil, errors.New("local: no command to run")
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	c.Dir = cmd.Dir
	c.Env = t.env(cmd.Env)
	c.Stdin = cmd.Stdin
	c.Stdout = cmd.Stdout
	c.Stderr = cmd.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Background children may keep the output pipes open after the command
	// exits; stop reading them after the grace period.
	c.WaitDelay = t.grace
	if err := c.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("command %q not found in PATH", cmd.Args[0])
		}
		if cmd.Dir != "" {
			// A missing directory fails the chdir in the child, which
			// os/exec reports as if the program were missing.
			if _, serr := os.Stat(cmd.Dir); serr != nil {
				return nil, fmt.Errorf("start %q: working directory: %w", cmd.Args[0], serr)
			}
		}
		return nil, fmt.Errorf("start %q: %w", cmd.Args[0], err)
	}

	k := &groupKiller{pgid: c.Process.Pid, grace: t.grace}
	stop := context.AfterFunc(ctx, k.terminate)
	werr := c.Wait()
	cancelled := !stop()
	if cancelled {
		k.finish()
	}

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

// groupKiller stops a cancelled command's process group: SIGTERM first,
// SIGKILL after the grace period.
type groupKiller struct {
	pgid  int
	grace time.Duration

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

func (k *groupKiller) terminate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done {
		return
	}
	_ = syscall.Kill(-k.pgid, syscall.SIGTERM)
	k.timer = time.AfterFunc(k.grace, k.kill)
}

func (k *groupKiller) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.done {
		_ = syscall.Kill(-k.pgid, syscall.SIGKILL)
	}
}

// finish runs once the command has exited after a cancellation: whatever
// is left of its group is killed now, and no signal is sent afterwards, so
// a recycled process id is never hit.
func (k *groupKiller) finish() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done {
		return
	}
	k.done = true
	if k.timer != nil {
		k.timer.Stop()
	}
	_ = syscall.Kill(-k.pgid, syscall.SIGKILL)
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
// env laid over it; nil (inherit unchanged) when there is nothing to
// change. os/exec keeps the last of duplicate keys, so appending is enough.
func (t *target) env(env map[string]string) []string {
	if len(env) == 0 && len(t.drop) == 0 {
		return nil
	}
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
	return merged
}

func (t *target) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	return os.ReadFile(path)
}

// WriteFile writes data to a temporary file beside path, syncs it, sets
// perm (exactly, without the umask) and renames it over path, then syncs
// the directory so the rename survives a crash.
func (t *target) WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) (err error) {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func (t *target) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// Interface guards
var _ sdk.Target = (*target)(nil)
