package pipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Ends are a step's connected streams, as the host hands them to the side
// that runs its action. Addresses are opaque tokens to everyone but this
// package: today unix socket paths.
type Ends struct {
	// Inputs maps each Stream argument connected to another step's
	// stream output to its pipe's address.
	Inputs map[string]string
	// Outputs maps each Stream output another step consumes to its
	// pipe's address.
	Outputs map[string]string
	// Result waits until the step producing the stream of input arg has
	// ended, and returns nil if it succeeded, or an error naming it and
	// saying why not. It returns ctx's cause if ctx ends first.
	Result func(ctx context.Context, arg string) error
}

// Host is implemented by a host's sdk.UI that has pipes for its step: a
// transport (sdk/rpc) reads them to carry them to the plugin process.
type Host interface {
	PipeEnds() *Ends
}

// MaxAddr is the longest socket path the kernel takes (sun_path, less its
// terminating NUL).
const MaxAddr = 107

// dialBackoff bounds the wait between two dials of a consumer that does
// not listen yet.
const dialBackoff = 20 * time.Millisecond

// Listen is the consumer's end: it listens on addr, accepts the
// producer's connection and hands it the write end of an OS pipe whose
// read end it returns (handOver), bounded by ctx. result is the producer step's
// outcome (Ends.Result for this input); Listen asks it at once, so a
// producer that fails before it connects fails Listen with its error,
// and one that succeeds without connecting is an empty stream.
func Listen(ctx context.Context, addr string, result func(context.Context) error) (io.ReadCloser, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening for the stream: %w", err)
	}
	// The outcome's wait ends with ctx (the step's): Wait may ask for it
	// even after Close.
	r := &reader{res: make(chan error, 1)}
	go func() { r.res <- result(ctx) }()
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.AcceptUnix()
		acc <- accepted{c, err}
	}()
	// giveUp closes the listener, which ends the accept, and whatever
	// connection it returned meanwhile.
	giveUp := func() {
		_ = ln.Close()
		go func() {
			if a := <-acc; a.c != nil {
				_ = a.c.Close()
			}
		}()
	}
	select {
	case a := <-acc:
		_ = ln.Close()
		if a.err != nil {
			return nil, fmt.Errorf("accepting the stream: %w", a.err)
		}
		return r.handOver(a.c)
	case err := <-r.res:
		r.res <- err // Read answers from it too
		if err != nil {
			giveUp()
			return nil, err
		}
	case <-ctx.Done():
		giveUp()
		return nil, context.Cause(ctx)
	}
	// The producer succeeded before it connected: it wrote nothing,
	// since its writes wait for the pipe Listen hands it on accepting.
	giveUp()
	return io.NopCloser(eofReader{}), nil
}

// accepted is what an accept returned.
type accepted struct {
	c   *net.UnixConn
	err error
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// pipeSize is the kernel buffer asked for each pipe (F_SETPIPE_SZ): the
// backpressure's slack, and fewer switches between the two processes than
// the 64 KiB default. Linux caps it at /proc/sys/fs/pipe-max-size (1 MiB
// by default); a refusal keeps the default.
const pipeSize = 1 << 20

// handOver makes the consumer's OS pipe and sends its write end to the
// producer over the accepted connection (SCM_RIGHTS): the bytes then go
// through the pipe, as fast as a shell's, and a command at either end can
// be given its end as stdin or stdout. The socket was only the meeting
// point.
func (r *reader) handOver(c *net.UnixConn) (io.ReadCloser, error) {
	defer c.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making the stream's pipe: %w", err)
	}
	defer pw.Close()
	if rc, err := pr.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = fcntl(fd, syscall.F_SETPIPE_SZ, pipeSize) })
	}
	if _, _, err := c.WriteMsgUnix([]byte{0}, syscall.UnixRights(int(pw.Fd())), nil); err != nil {
		_ = pr.Close()
		return nil, fmt.Errorf("handing the stream's pipe to its producer: %w", err)
	}
	r.f = pr
	return r, nil
}

func fcntl(fd uintptr, cmd, arg int) (int, error) {
	n, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// reader is the consumer's stream: the pipe's bytes, and at their end
// the producer's outcome.
type reader struct {
	f   *os.File
	res chan error // the outcome, put back once read

	err error // the end of the stream, once reached
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.f.Read(p)
	if err == nil {
		return n, nil
	}
	// The pipe ended: every writer closed it, the producer's process
	// dying included. What the stream was is the producer step's outcome.
	res := <-r.res
	r.res <- res
	switch {
	case res != nil:
		r.err = res
		return 0, res // the bytes of a failed producer are not passed on
	case errors.Is(err, io.EOF):
		r.err = io.EOF
	default:
		r.err = fmt.Errorf("reading the stream: %w", err)
	}
	return n, r.err
}

// Close closes the pipe; the producer's outcome is still awaited (its
// wait ends with the step's ctx), for Wait.
func (r *reader) Close() error { return r.f.Close() }

// File returns a duplicate of the pipe's read end, for a child process to
// read from directly (see Wait); use either File or Read, not both.
func (r *reader) File() (*os.File, error) { return dup(r.f) }

// Wait is for a caller that handed File to a child process, which has
// ended: if the stream had ended (every writer closed it), the child may
// have read it to its end, and Wait returns the producer step's outcome
// once that step has ended, as Read would have. If it had not, the child
// stopped reading first: its success is its own, Wait returns nil at once,
// and closing the reader then stops the producer. Call it before Close.
func (r *reader) Wait() error {
	if !r.ended() {
		return nil
	}
	res := <-r.res
	r.res <- res
	return res
}

// ended reports whether every writer of the pipe has closed it, without
// waiting: a read that finds it empty and closed.
func (r *reader) ended() bool {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return false
	}
	end := false
	_ = rc.Control(func(fd uintptr) {
		if syscall.SetNonblock(int(fd), true) != nil {
			return
		}
		var b [1]byte
		n, err := syscall.Read(int(fd), b[:])
		end = n == 0 && err == nil
	})
	return end
}

// dup duplicates f's descriptor, close-on-exec and blocking, as a child
// process expects its stdin and stdout (one that meets EAGAIN fails).
// The flag is the pipe end's, which f shares: f itself is only closed
// after, never read or written.
func dup(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = fcntl(fd, syscall.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := syscall.SetNonblock(nfd, false); err != nil {
		_ = syscall.Close(nfd)
		return nil, err
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// Dial is the producer's end: it connects to the consumer's listener at
// addr, retrying until the consumer listens or ctx ends.
func Dial(ctx context.Context, addr string) (io.WriteCloser, error) {
	wait := time.Millisecond
	for {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
		if err == nil {
			return receive(ctx, c)
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("connecting the stream: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the consuming step never read the stream: %w", context.Cause(ctx))
		case <-time.After(wait):
		}
		wait = min(2*wait, dialBackoff)
	}
}

// receive takes the pipe's write end the consumer sends (see handOver).
func receive(ctx context.Context, c *net.UnixConn) (io.WriteCloser, error) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	oob := make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("the consuming step never read the stream: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("the consuming step closed the stream before reading it: %w", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("the consumer sent no pipe: %v", err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("the consumer sent no pipe: %v", err)
	}
	syscall.CloseOnExec(fds[0])
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		_ = syscall.Close(fds[0])
		return nil, err
	}
	return &writer{f: os.NewFile(uintptr(fds[0]), "stream")}, nil
}

// writer is the producer's stream.
type writer struct{ f *os.File }

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		err = fmt.Errorf("the consuming step stopped reading the stream: %w", err)
	}
	return n, err
}

// Close ends the stream; the consumer sees its end once this step has
// succeeded.
func (w *writer) Close() error { return w.f.Close() }

// File returns a duplicate of the pipe's write end, for a child process
// to write to directly; use either File or Write, not both.
func (w *writer) File() (*os.File, error) { return dup(w.f) }
