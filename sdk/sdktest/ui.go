package sdktest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
)

// Record is what an action showed the operator.
type Record struct {
	// Logs are the Logf lines.
	Logs []string
	// Stdout and Stderr are what was written to the UI's writers, byte
	// for byte (over gRPC too).
	Stdout, Stderr string
	Progress       []Progress
	// Streams are the bytes written to the outputs ConnectOutput
	// connected, by output name.
	Streams map[string]string
}

// Progress is one UI.Progress call.
type Progress struct {
	Done, Total int64
	Message     string
}

// UI is a recording sdk.UI, safe for concurrent use. Pass it to an
// action's Run directly, or let Run make one.
type UI struct {
	target sdk.Target
	info   sdk.RunInfo

	mu             sync.Mutex
	logs           []string
	stdout, stderr bytes.Buffer
	progress       []Progress
	args           cty.Value
	inputs         map[string]io.Reader
	outputs        map[string]*bytes.Buffer
}

// NewUI returns a UI for a step running against target.
func NewUI(target sdk.Target, info sdk.RunInfo) *UI {
	return &UI{target: target, info: info}
}

func (u *UI) Logf(format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.logs = append(u.logs, fmt.Sprintf(format, args...))
}

func (u *UI) Stdout() io.Writer  { return &lockedWriter{mu: &u.mu, buf: &u.stdout} }
func (u *UI) Stderr() io.Writer  { return &lockedWriter{mu: &u.mu, buf: &u.stderr} }
func (u *UI) Target() sdk.Target { return u.target }
func (u *UI) Info() sdk.RunInfo  { return u.info }
func (u *UI) Progress(done, total int64, message string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.progress = append(u.progress, Progress{Done: done, Total: total, Message: message})
}

// Record returns a copy of what was recorded so far.
func (u *UI) Record() Record {
	u.mu.Lock()
	defer u.mu.Unlock()
	var streams map[string]string
	for name, buf := range u.outputs {
		if streams == nil {
			streams = map[string]string{}
		}
		streams[name] = buf.String()
	}
	return Record{
		Logs:     append([]string(nil), u.logs...),
		Stdout:   u.stdout.String(),
		Stderr:   u.stderr.String(),
		Progress: append([]Progress(nil), u.progress...),
		Streams:  streams,
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Interface guards
var _ sdk.UI = (*UI)(nil)

// WithInput pipes r into the action's stream argument arg (in process:
// pipes over gRPC are zrun's own, tested in its engine).
func WithInput(arg string, r io.Reader) Option {
	return func(c *config) { c.ui = append(c.ui, func(u *UI) { u.SetInput(arg, r) }) }
}

// WithOutput connects the action's stream output name; its bytes are in
// the result's Streams.
func WithOutput(name string) Option {
	return func(c *config) { c.ui = append(c.ui, func(u *UI) { u.ConnectOutput(name) }) }
}

// SetArgs gives InputStream the call's arguments: a stream argument that
// holds a string reads as its bytes, as it does under zrun. Run calls it.
func (u *UI) SetArgs(args cty.Value) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.args = args
}

// SetInput makes InputStream(arg) read r, as a stream piped from a step
// that succeeds at r's end.
func (u *UI) SetInput(arg string, r io.Reader) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inputs == nil {
		u.inputs = map[string]io.Reader{}
	}
	u.inputs[arg] = r
}

// ConnectOutput makes OutputStream(name) return a writer whose bytes are
// recorded in Record.Streams, as if another step consumed it.
func (u *UI) ConnectOutput(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.outputs == nil {
		u.outputs = map[string]*bytes.Buffer{}
	}
	u.outputs[name] = &bytes.Buffer{}
}

func (u *UI) InputStream(arg string) (io.ReadCloser, error) {
	u.mu.Lock()
	r, ok := u.inputs[arg]
	args := u.args
	u.mu.Unlock()
	if ok {
		return io.NopCloser(r), nil
	}
	return pipe.NewStreams(context.Background(), nil, args).InputStream(arg)
}

func (u *UI) OutputStream(output string) (io.WriteCloser, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	buf, ok := u.outputs[output]
	if !ok {
		return nil, nil
	}
	return nopCloser{&lockedWriter{mu: &u.mu, buf: buf}}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
