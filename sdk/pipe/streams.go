package pipe

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// Streams implements sdk.UI's InputStream and OutputStream for one call
// of an action, from its Ends and its arguments. A Stream argument that no
// pipe connects but that holds a string is a stream of that string's
// bytes, so `stdin = "text"` works beside `stdin = step.dump.stream`.
// Safe for concurrent use.
type Streams struct {
	ctx  context.Context
	ends *Ends
	args cty.Value

	mu     sync.Mutex
	opened map[string]bool
	open   []io.Closer
}

// NewStreams returns the streams of a call running under ctx; ends may be
// nil (nothing connected).
func NewStreams(ctx context.Context, ends *Ends, args cty.Value) *Streams {
	if ends == nil {
		ends = &Ends{}
	}
	return &Streams{ctx: ctx, ends: ends, args: args, opened: map[string]bool{}}
}

// InputStream returns the stream argument arg carries: the producer's
// pipe, the bytes of a string, or nil, nil when it is null.
func (s *Streams) InputStream(arg string) (io.ReadCloser, error) {
	if err := s.once("argument", arg); err != nil {
		return nil, err
	}
	addr, ok := s.ends.Inputs[arg]
	if !ok {
		return s.text(arg)
	}
	if s.ends.Result == nil {
		return nil, fmt.Errorf("stream argument %q: the host cannot tell how its producer ended", arg)
	}
	r, err := Listen(s.ctx, addr, func(ctx context.Context) error { return s.ends.Result(ctx, arg) })
	if err != nil {
		return nil, err
	}
	s.keep(r)
	return r, nil
}

func (s *Streams) text(arg string) (io.ReadCloser, error) {
	v := s.args
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(arg) {
		return nil, nil // an argument left out is null
	}
	v, _ = v.GetAttr(arg).Unmark()
	switch {
	case v.IsNull():
		return nil, nil
	case !v.IsKnown() || v.Type() != cty.String:
		return nil, fmt.Errorf("stream argument %q is not a stream nor a string", arg)
	}
	return io.NopCloser(strings.NewReader(v.AsString())), nil
}

// OutputStream returns the writer of a connected stream output, or nil,
// nil when no step consumes it.
func (s *Streams) OutputStream(output string) (io.WriteCloser, error) {
	addr, ok := s.ends.Outputs[output]
	if !ok {
		return nil, nil
	}
	if err := s.once("output", output); err != nil {
		return nil, err
	}
	w, err := Dial(s.ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("stream output %q: %w", output, err)
	}
	s.keep(w)
	return w, nil
}

func (s *Streams) once(kind, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := kind + " " + name
	if s.opened[key] {
		return fmt.Errorf("stream %s %q is already open: a stream is read (or written) once", kind, name)
	}
	s.opened[key] = true
	return nil
}

func (s *Streams) keep(c io.Closer) {
	s.mu.Lock()
	s.open = append(s.open, c)
	s.mu.Unlock()
}

// Close closes what the action left open once its call has returned, so
// its consumers see the end of their streams (and then its outcome).
func (s *Streams) Close() {
	s.mu.Lock()
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}
