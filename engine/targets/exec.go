package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/zrun-dev/zrun/sdk"
)

// Name is the host's name in the environment.
func (h *host) Name() string { return h.cfg.Name }

// Exec runs cmd in a session of its own on the host's connection, or on a
// connection of its own when cmd.NewConnection says so.
func (h *host) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	line, err := commandLine(cmd, cmd.Sudo || h.cfg.Sudo)
	if err != nil {
		return nil, err
	}
	session := h.session
	if cmd.NewConnection {
		session = h.newSession
	}
	c, sess, err := session(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	if cmd.NewConnection {
		defer c.client.Close()
	}
	stdout, stderr := outputs(cmd.Stdout, cmd.Stderr)
	pid := &pidFilter{w: stderr}
	sess.Stdout, sess.Stderr = stdout, pid
	if cmd.Stdin != nil {
		// Copied apart from the session, which would otherwise wait for a
		// stdin that never ends (a terminal) after the command has exited.
		in, err := sess.StdinPipe()
		if err != nil {
			return nil, err
		}
		go func() {
			io.Copy(in, cmd.Stdin)
			in.Close()
		}()
	}
	if err := sess.Start(line); err != nil {
		return nil, h.failed(c, cmd, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		// KILL, as a local command is killed; closing the channel alone
		// leaves a command that does not write running. sshd refuses
		// signals to root's sessions: the command's pid is killed too.
		sess.Signal(ssh.SIGKILL)
		if n := pid.pid(); n > 0 {
			kill(c, n, cmd.Sudo || h.cfg.Sudo)
		}
		sess.Close()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
		}
		return nil, fmt.Errorf("%s on host %s: %w", display(cmd), h.cfg.Name, context.Cause(ctx))
	}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return &sdk.ExecResult{}, nil
	case errors.As(err, &exit):
		return &sdk.ExecResult{ExitCode: exit.ExitStatus()}, nil
	}
	return nil, h.failed(c, cmd, err)
}

// session opens a session on the host's connection. A connection found
// dead (dropped since its last use, not yet noticed) is reopened once.
func (h *host) session(ctx context.Context) (*conn, *ssh.Session, error) {
	for attempt := 0; ; attempt++ {
		c, err := h.conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		sess, err := c.client.NewSession()
		if err == nil {
			return c, sess, nil
		}
		if alive(c) || attempt > 0 {
			return nil, nil, fmt.Errorf("host %s: opening a session: %w", h.cfg.label(), err)
		}
		h.drop(c)
	}
}

// newSession opens a session on a new connection to the host (through the
// pooled jump host, if any), which Exec closes after the command: a login made now, not one that survives from before (a
// firewall change that refuses new connections makes it fail).
func (h *host) newSession(ctx context.Context) (*conn, *ssh.Session, error) {
	if h.pool.ctx.Err() != nil {
		return nil, nil, errPoolClosed
	}
	c, err := h.open(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening a new connection to host %s: %w", h.cfg.label(), err)
	}
	sess, err := c.client.NewSession()
	if err != nil {
		c.client.Close()
		return nil, nil, fmt.Errorf("host %s: opening a session on a new connection: %w", h.cfg.label(), err)
	}
	return c, sess, nil
}

// failed explains a command that ended without an exit status: the
// connection dropped (then the pool forgets it and the next command
// reconnects), or the server closed the session.
func (h *host) failed(c *conn, cmd *sdk.Command, err error) error {
	if !alive(c) {
		h.drop(c)
		return fmt.Errorf("connection to %s lost while running %s: %w", h.cfg.label(), display(cmd), err)
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return fmt.Errorf("%s on host %s ended without an exit status (the server closed its session)", display(cmd), h.cfg.label())
	}
	return fmt.Errorf("%s on host %s: %w", display(cmd), h.cfg.label(), err)
}

// alive asks the server to answer, within a few seconds: a connection
// that cannot is lost, whether or not TCP has noticed yet.
func alive(c *conn) bool {
	select {
	case <-c.dead:
		return false
	default:
	}
	answered := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		answered <- err
	}()
	select {
	case err := <-answered:
		return err == nil
	case <-c.dead:
		return false
	case <-time.After(5 * time.Second):
		return false
	}
}

// kill kills pid's process group on the host (or pid alone, if it leads
// none), through sudo when the command ran through it. It gives up after
// a few seconds: a cancelled step must not hang on a dying connection.
func kill(c *conn, pid int, sudo bool) {
	line := fmt.Sprintf("kill -KILL -- -%d 2>/dev/null || kill -KILL %d", pid, pid)
	if sudo {
		line = fmt.Sprintf("sudo -n sh -c %s", quote(line))
	}
	sess, err := c.client.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	done := make(chan error, 1)
	go func() { done <- sess.Run(line) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// pidPrefix marks the line with which a command line says its pid.
const pidPrefix = "zrun-pid:"

// pidFilter takes the pid line off the head of a command's stderr and
// passes the rest on to w (nil discards it). A first line without the
// prefix (a server's ForceCommand ran instead) is passed on unchanged.
type pidFilter struct {
	w io.Writer

	mu      sync.Mutex
	head    []byte
	decided bool
	n       int
}

func (f *pidFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	if f.decided {
		f.mu.Unlock()
		return f.pass(p, len(p))
	}
	f.head = append(f.head, p...)
	i := bytes.IndexByte(f.head, '\n')
	if i < 0 && len(f.head) < 64 {
		f.mu.Unlock()
		return len(p), nil
	}
	f.decided = true
	rest := f.head
	if i >= 0 && bytes.HasPrefix(f.head, []byte(pidPrefix)) {
		// kill -- -1 would reach every process of the user: only a
		// real process group's pid is kept.
		if n, err := strconv.Atoi(string(f.head[len(pidPrefix):i])); err == nil && n > 1 {
			f.n = n
		}
		rest = f.head[i+1:]
	}
	f.head = nil
	f.mu.Unlock()
	return f.pass(rest, len(p))
}

// pass writes b on and reports n (what the caller gave) written.
func (f *pidFilter) pass(b []byte, n int) (int, error) {
	if f.w == nil || len(b) == 0 {
		return n, nil
	}
	if _, err := f.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

func (f *pidFilter) pid() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// outputs returns the writers for a session's stdout and stderr. The
// session copies each in a goroutine of its own: one writer given for
// both (as os/exec allows) is then written by one goroutine at a time.
func outputs(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if stdout == nil || !same(stdout, stderr) {
		return stdout, stderr
	}
	w := &lockedWriter{w: stdout}
	return w, w
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// same reports whether a and b are one writer; a type that cannot be
// compared (==, which panics on it) is taken as two.
func same(a, b io.Writer) (eq bool) {
	defer func() { recover() }()
	return a == b
}
