package rpc

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// maxChunk bounds the data of one log event: a larger write is sent in
// several. Output is bytes and is sent as written, with no line
// splitting: the host assembles lines, so it can mask a secret however
// the bytes were chunked, and turns them into text.
const maxChunk = 32 << 10

// streamUI is the plugin side's sdk.UI: it turns each call into a
// RunAction event. mu serialises sends (a gRPC stream is not safe for
// concurrent sends).
type streamUI struct {
	mu     sync.Mutex
	send   func(*pb.RunAction_Event) error
	closed bool

	info           sdk.RunInfo
	target         sdk.Target
	stdout, stderr *chunkWriter
	// streams connects the call's pipes here, in the plugin: the bytes
	// go from plugin to plugin, not through the host.
	streams *pipe.Streams
}

func newStreamUI(send func(*pb.RunAction_Event) error, info sdk.RunInfo, target sdk.Target, streams *pipe.Streams) *streamUI {
	ui := &streamUI{send: send, info: info, target: target, streams: streams}
	ui.stdout = &chunkWriter{ui: ui, stream: pb.RunAction_Log_STREAM_STDOUT}
	ui.stderr = &chunkWriter{ui: ui, stream: pb.RunAction_Log_STREAM_STDERR}
	return ui
}

// Logf sends one message whole, whatever its size: cutting it could cut
// a secret the host would then fail to mask.
func (ui *streamUI) Logf(format string, args ...any) {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	ui.sendLocked(logEvent(pb.RunAction_Log_STREAM_LOG, []byte(fmt.Sprintf(format, args...))))
}

func (ui *streamUI) Stdout() io.Writer  { return ui.stdout }
func (ui *streamUI) Stderr() io.Writer  { return ui.stderr }
func (ui *streamUI) Target() sdk.Target { return ui.target }
func (ui *streamUI) Info() sdk.RunInfo  { return ui.info }

// Progress sends a progress event. Its message is a protobuf string,
// which must be valid UTF-8: invalid sequences become U+FFFD.
func (ui *streamUI) Progress(done, total int64, message string) {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	ui.sendLocked(&pb.RunAction_Event{Event: &pb.RunAction_Event_Progress{
		Progress: &pb.RunAction_Progress{Done: done, Total: total, Message: strings.ToValidUTF8(message, "\uFFFD")},
	}})
}

// close drops whatever the action writes after it returned (from a
// goroutine it left behind), and closes the streams it left open.
func (ui *streamUI) close() {
	ui.streams.Close()
	ui.mu.Lock()
	defer ui.mu.Unlock()
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

func logEvent(stream pb.RunAction_Log_Stream, data []byte) *pb.RunAction_Event {
	return &pb.RunAction_Event{Event: &pb.RunAction_Event_Log{Log: &pb.RunAction_Log{Stream: stream, Data: data}}}
}

// chunkWriter sends what is written as log events of at most maxChunk
// bytes each, at once: nothing waits for the end of a line.
type chunkWriter struct {
	ui     *streamUI
	stream pb.RunAction_Log_Stream
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.ui.mu.Lock()
	defer w.ui.mu.Unlock()
	for rest := p; len(rest) > 0; {
		n := min(len(rest), maxChunk)
		// A copy: the event may outlive the call, and p is the caller's.
		w.ui.sendLocked(logEvent(w.stream, bytes.Clone(rest[:n])))
		rest = rest[n:]
	}
	return len(p), nil
}

// Interface guards
var _ sdk.UI = (*streamUI)(nil)

func (ui *streamUI) InputStream(arg string) (io.ReadCloser, error) {
	return ui.streams.InputStream(arg)
}

func (ui *streamUI) OutputStream(output string) (io.WriteCloser, error) {
	return ui.streams.OutputStream(output)
}
