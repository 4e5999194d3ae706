package pipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
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

// acceptGrace is how long a consumer whose producer has succeeded still
// waits for the producer's connection: made before its success, it is in
// the listener's backlog, and accept returns it at once.
const acceptGrace = 100 * time.Millisecond

// Listen is the consumer's end: it listens on addr and accepts the
// producer's connection, bounded by ctx. result is the producer step's
// outcome (Ends.Result for this input); Listen asks it at once, so a
// producer that fails before it connects fails Listen with its error,
// and one that succeeds without connecting is an empty stream.
func Listen(ctx context.Context, addr string, result func(context.Context) error) (io.ReadCloser, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening for the stream: %w", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &reader{res: make(chan error, 1), cancel: cancel}
	go func() { r.res <- result(rctx) }()
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.AcceptUnix()
		acc <- accepted{c, err}
	}()
	// giveUp closes the listener, which ends the accept, and whatever
	// connection it returned meanwhile.
	giveUp := func() {
		cancel()
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
			cancel()
			return nil, fmt.Errorf("accepting the stream: %w", a.err)
		}
		r.conn = a.c
		return r, nil
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
	// The producer succeeded before its connection was seen: made before
	// its success, it is in the backlog, unless it made none (an empty
	// stream).
	select {
	case a := <-acc:
		_ = ln.Close()
		if a.err == nil {
			r.conn = a.c
			return r, nil
		}
	case <-time.After(acceptGrace):
		giveUp()
	}
	cancel()
	return io.NopCloser(eofReader{}), nil
}

// accepted is what an accept returned.
type accepted struct {
	c   *net.UnixConn
	err error
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// reader is the consumer's stream: the socket's bytes, and at its end
// the producer's outcome.
type reader struct {
	conn   *net.UnixConn
	res    chan error // the outcome, put back once read
	cancel context.CancelFunc

	once sync.Once
	err  error // the end of the stream, once reached
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.conn.Read(p)
	if err == nil {
		return n, nil
	}
	// The socket ended: EOF, or reset by a producer that died. Either
	// way, what the stream was is the producer step's outcome.
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

func (r *reader) Close() error {
	r.once.Do(r.cancel)
	return r.conn.Close()
}

// File returns a duplicate of the socket's descriptor, for a child
// process to read from directly (see Result).
func (r *reader) File() (*os.File, error) { return r.conn.File() }

// Wait returns the producer step's outcome, once it has ended: for a
// caller that handed File to a child process and so never saw Read's end.
func (r *reader) Wait() error {
	res := <-r.res
	r.res <- res
	return res
}

// Dial is the producer's end: it connects to the consumer's listener at
// addr, retrying until the consumer listens or ctx ends.
func Dial(ctx context.Context, addr string) (io.WriteCloser, error) {
	wait := time.Millisecond
	for {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
		if err == nil {
			return &writer{conn: c}, nil
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

// writer is the producer's stream.
type writer struct{ conn *net.UnixConn }

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.conn.Write(p)
	if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		err = fmt.Errorf("the consuming step stopped reading the stream: %w", err)
	}
	return n, err
}

// Close ends the stream; the consumer sees its end once this step has
// succeeded.
func (w *writer) Close() error { return w.conn.Close() }

// File returns a duplicate of the socket's descriptor, for a child
// process to write to directly.
func (w *writer) File() (*os.File, error) { return w.conn.File() }
