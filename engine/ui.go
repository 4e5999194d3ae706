package engine

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
)

// stepUI is the host's sdk.UI for one step attempt: everything an action
// says becomes events, one per line.
type stepUI struct {
	sink   events.Sink
	addr   string
	info   sdk.RunInfo
	target sdk.Target
	redact func(string) string

	stdout, stderr *lineWriter
}

func newStepUI(sink events.Sink, info sdk.RunInfo, target sdk.Target, redact func(string) string) *stepUI {
	u := &stepUI{sink: sink, addr: info.Step, info: info, target: target, redact: redact}
	u.stdout = &lineWriter{emit: func(l string) { u.log("stdout", l) }}
	u.stderr = &lineWriter{emit: func(l string) { u.log("stderr", l) }}
	return u
}

func (u *stepUI) log(stream, line string) {
	u.sink.Event(events.StepLog{Time: time.Now(), Step: u.addr, Stream: stream, Line: u.redact(line)})
}

func (u *stepUI) Logf(format string, args ...any) { u.log("log", fmt.Sprintf(format, args...)) }
func (u *stepUI) Stdout() io.Writer               { return u.stdout }
func (u *stepUI) Stderr() io.Writer               { return u.stderr }
func (u *stepUI) Target() sdk.Target              { return u.target }
func (u *stepUI) Info() sdk.RunInfo               { return u.info }

func (u *stepUI) Progress(done, total int64, message string) {
	u.sink.Event(events.StepProgress{Time: time.Now(), Step: u.addr, Done: done, Total: total, Message: u.redact(message)})
}

// flush emits partial last lines.
func (u *stepUI) flush() {
	u.stdout.flush()
	u.stderr.flush()
}

// lineWriter splits a byte stream into lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(bytes.TrimSuffix(w.buf[:i], []byte("\r"))))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// Interface guards
var _ sdk.UI = (*stepUI)(nil)
