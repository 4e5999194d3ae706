package rpc

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// The SDK owns the plugin process's stderr (CaptureStderr, called by
// plugin.Serve): whatever any part of the process writes there, its own
// hclog logger, a library's, Go's log package or a plain write, goes
// through a pipe the SDK reads. A line read while exactly one call runs
// is sent in that call's stream (STREAM_PLUGIN_LOG), ahead of its
// answer: before a call answers, the SDK writes a marker into the pipe
// and waits until it has read up to it, so every line the call wrote
// reaches its step, in order, before the step ends. Lines read while no
// call runs, or several do, go on to the stderr the host reads, which
// attributes them by their time.

// maxPendingLine bounds the unfinished line the capture holds: a longer
// one is passed on in pieces (the host cuts lines at 64 KiB too).
const maxPendingLine = 64 << 10

// drainWait bounds how long a call's answer waits for its stderr lines:
// a writer blocked in the pipe, or a host not reading, must not hold the
// answer.
const drainWait = time.Second

var capture atomic.Pointer[stderrCapture]

// stderrCapture reads the process's stderr pipe and routes its lines.
type stderrCapture struct {
	// real is the stderr the host reads; mark writes into the pipe.
	real io.Writer
	mark io.Writer
	// marker starts every drain marker: NUL, a token of this process and
	// a dash; the marker's sequence number and a NUL follow.
	marker []byte
	// adopt points another of the process's stderr files at the pipe
	// (go-plugin replaces os.Stderr once it serves); set by the platform.
	adopt func()

	mu      sync.Mutex
	cond    *sync.Cond
	calls   map[*streamUI]struct{}
	written uint64 // markers written
	read    uint64 // markers read
	pending []byte // bytes read and not yet routed: an unfinished line
}

func newStderrCapture(real, mark io.Writer) *stderrCapture {
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	c := &stderrCapture{
		real:   real,
		mark:   mark,
		marker: []byte("\x00zrun-drain-" + hex.EncodeToString(token) + "-"),
		calls:  map[*streamUI]struct{}{},
	}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// start records that ui's call runs, and returns what ends it: the
// drain, called before the call answers.
func (c *stderrCapture) start(ui *streamUI) func() {
	if c.adopt != nil {
		c.adopt()
	}
	c.mu.Lock()
	c.calls[ui] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.drain()
		c.mu.Lock()
		delete(c.calls, ui)
		c.mu.Unlock()
	}
}

// drain waits until everything written to stderr before it was called
// has been read and routed, or drainWait passed.
func (c *stderrCapture) drain() {
	c.mu.Lock()
	c.written++
	seq := c.written
	c.mu.Unlock()
	if _, err := c.mark.Write(fmt.Appendf(bytes.Clone(c.marker), "%d\x00", seq)); err != nil {
		return
	}
	timer := time.AfterFunc(drainWait, func() {
		c.mu.Lock()
		c.read = max(c.read, seq) // give up waiting; the lines go on later
		c.mu.Unlock()
		c.cond.Broadcast()
	})
	defer timer.Stop()
	c.mu.Lock()
	for c.read < seq {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

// Write takes what the reader read from the pipe, in any pieces: whole
// lines are routed as they complete, and a marker routes what came
// before it, an unfinished line too.
func (c *stderrCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, p...)
	for {
		i := bytes.Index(c.pending, c.marker)
		if i < 0 {
			break
		}
		end := bytes.IndexByte(c.pending[i+len(c.marker):], 0)
		if end < 0 {
			break // the rest of the marker is still to come
		}
		var seq uint64
		_, _ = fmt.Sscanf(string(c.pending[i+len(c.marker):i+len(c.marker)+end]), "%d", &seq)
		before := c.pending[:i]
		c.routeLocked(before)
		c.pending = append(before[:0], c.pending[i+len(c.marker)+end+1:]...)
		c.read = max(c.read, seq)
		c.cond.Broadcast()
	}
	// Whole lines now; an unfinished one waits, unless it is too long or
	// could not be the start of a marker.
	if j := bytes.LastIndexByte(c.pending, '\n'); j >= 0 {
		c.routeLocked(c.pending[:j+1])
		c.pending = append(c.pending[:0], c.pending[j+1:]...)
	}
	if len(c.pending) > maxPendingLine {
		c.routeLocked(c.pending)
		c.pending = c.pending[:0]
	}
	return len(p), nil
}

// routeLocked sends data to the one call running, or to the host's
// stderr.
func (c *stderrCapture) routeLocked(data []byte) {
	if len(data) == 0 {
		return
	}
	if len(c.calls) == 1 {
		for ui := range c.calls {
			ui.pluginLog(data)
		}
		return
	}
	_, _ = c.real.Write(data)
}

// pluginLog sends what the plugin process wrote to stderr during the
// call, in chunks of at most maxChunk.
func (ui *streamUI) pluginLog(data []byte) {
	_, _ = (&chunkWriter{ui: ui, stream: pb.RunAction_Log_STREAM_PLUGIN_LOG}).Write(data)
}

// startCall is runAction's hook: with the capture on, it tracks the call.
func startCall(ui *streamUI) func() {
	if c := capture.Load(); c != nil {
		return c.start(ui)
	}
	return func() {}
}
