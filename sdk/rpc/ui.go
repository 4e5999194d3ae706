package rpc

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// maxLine is where a line without a newline is cut, so output that never
// ends a line (a progress bar, binary data) still streams and memory stays
// bounded.
const maxLine = 64 << 10

// streamUI is the plugin side's sdk.UI: it turns each call into a
// RunAction event. mu serialises sends (a gRPC stream is not safe for
// concurrent sends) and the line buffers.
type streamUI struct {
	mu     sync.Mutex
	send   func(*pb.RunAction_Event) error
	closed bool

	info           sdk.RunInfo
	target         sdk.Target
	stdout, stderr *lineWriter
}

func newStreamUI(send func(*pb.RunAction_Event) error, info sdk.RunInfo, target sdk.Target) *streamUI {
	ui := &streamUI{send: send, info: info, target: target}
	ui.stdout = &lineWriter{ui: ui, stream: pb.RunAction_Log_STREAM_STDOUT}
	ui.stderr = &lineWriter{ui: ui, stream: pb.RunAction_Log_STREAM_STDERR}
	return ui
}

func (ui *streamUI) Logf(format string, args ...any) {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	ui.sendLocked(logEvent(pb.RunAction_Log_STREAM_LOG, fmt.Sprintf(format, args...)))
}

func (ui *streamUI) Stdout() io.Writer  { return ui.stdout }
func (ui *streamUI) Stderr() io.Writer  { return ui.stderr }
func (ui *streamUI) Target() sdk.Target { return ui.target }
func (ui *streamUI) Info() sdk.RunInfo  { return ui.info }
func (ui *streamUI) Progress(done, total int64, message string) {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	ui.sendLocked(&pb.RunAction_Event{Event: &pb.RunAction_Event_Progress{
		Progress: &pb.RunAction_Progress{Done: done, Total: total, Message: message},
	}})
}

// close flushes partial lines and drops whatever the action writes after
// it returned (from a goroutine it left behind).
func (ui *streamUI) close() {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	ui.stdout.flushLocked()
	ui.stderr.flushLocked()
	ui.closed = true
}

// sendLocked sends an event; errors mean the host went away, which the
// action learns through its ctx, so they are dropped here.
func (ui *streamUI) sendLocked(ev *pb.RunAction_Event) {
	if ui.closed {
		return
	}
	_ = ui.send(ev)
}

func logEvent(stream pb.RunAction_Log_Stream, line string) *pb.RunAction_Event {
	return &pb.RunAction_Event{Event: &pb.RunAction_Event_Log{Log: &pb.RunAction_Log{Stream: stream, Line: line}}}
}

// lineWriter splits what is written into lines, one event each. A
// trailing partial line waits for its end or for close.
type lineWriter struct {
	ui     *streamUI
	stream pb.RunAction_Log_Stream
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.ui.mu.Lock()
	defer w.ui.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emitLocked(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) >= maxLine {
		w.emitLocked(w.buf[:maxLine])
		w.buf = w.buf[maxLine:]
	}
	// Reuse the buffer from its start so it does not creep forward.
	w.buf = append(w.buf[:0:0], w.buf...)
	return len(p), nil
}

func (w *lineWriter) flushLocked() {
	if len(w.buf) > 0 {
		w.emitLocked(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) emitLocked(line []byte) {
	w.ui.sendLocked(logEvent(w.stream, string(bytes.TrimSuffix(line, []byte("\r")))))
}

// Interface guards
var _ sdk.UI = (*streamUI)(nil)
