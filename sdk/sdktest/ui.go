package sdktest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zrun-dev/zrun/sdk"
)

// Record is what an action showed the operator.
type Record struct {
	// Logs are the Logf lines.
	Logs []string
	// Stdout and Stderr are what was written to the UI's writers, byte
	// for byte (over gRPC too).
	Stdout, Stderr string
	Progress       []Progress
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
	return Record{
		Logs:     append([]string(nil), u.logs...),
		Stdout:   u.stdout.String(),
		Stderr:   u.stderr.String(),
		Progress: append([]Progress(nil), u.progress...),
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

// InputStream: streams between steps are not wired yet.
func (u *UI) InputStream(arg string) (io.ReadCloser, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): pipes, in progress
}

// OutputStream: no step consumes a stream until pipes are wired.
func (u *UI) OutputStream(output string) (io.WriteCloser, error) {
	return nil, nil // TODO(issue 8): pipes, in progress
}
