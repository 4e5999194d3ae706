package rpc

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// captureUI is a call's UI whose plugin log events are kept.
type captureUI struct {
	mu  sync.Mutex
	got bytes.Buffer
}

func (c *captureUI) ui() *streamUI {
	return newStreamUI(func(ev *pb.RunAction_Event) error {
		if l := ev.GetLog(); l != nil && l.GetStream() == pb.RunAction_Log_STREAM_PLUGIN_LOG {
			c.mu.Lock()
			c.got.Write(l.GetData())
			c.mu.Unlock()
		}
		return nil
	}, decodeInfo(nil), nil, nil)
}

func (c *captureUI) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got.String()
}

// TestStderrCaptureRoutes: the capture's reader may get the pipe's
// bytes in any pieces, a marker cut anywhere, and still routes every
// byte before a call's marker to that call (an unfinished line too),
// strips the markers, and sends what no single call wrote to the host's
// stderr.
func TestStderrCaptureRoutes(t *testing.T) {
	for _, size := range []int{1, 2, 3, 7, 64, 1 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var real, pipe bytes.Buffer
			c := newStderrCapture(&real, &pipe)
			c.written = 1 << 40 // drain is not called: nothing waits
			marker := func(seq int) string { return fmt.Sprintf("%s%d\x00", c.marker, seq) }

			// Before any call: the host's.
			pipe.WriteString("early line\nunfinished ")
			// One call runs: its lines, and at its marker, the unfinished
			// line too.
			var one captureUI
			ui := one.ui()
			write := func() {
				for data := pipe.Bytes(); len(data) > 0; data = data[min(size, len(data)):] {
					_, _ = c.Write(data[:min(size, len(data))])
				}
				pipe.Reset()
			}
			write()
			c.mu.Lock()
			c.calls[ui] = struct{}{}
			c.mu.Unlock()
			pipe.WriteString("the call's\n{\"@level\":\"warn\"}\n[INFO] last, with no line end")
			pipe.WriteString(marker(1))
			write()
			c.mu.Lock()
			delete(c.calls, ui)
			read := c.read
			c.mu.Unlock()
			if read != 1 {
				t.Errorf("markers read: %d, want 1", read)
			}
			pipe.WriteString("after it\n")
			write()

			// "unfinished " came before the call, with no line end: it was
			// held, and so became part of the call's first line.
			if diff := cmp.Diff("unfinished the call's\n{\"@level\":\"warn\"}\n[INFO] last, with no line end", one.String()); diff != "" {
				t.Errorf("the call's lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("early line\nafter it\n", real.String()); diff != "" {
				t.Errorf("the host's stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStderrCaptureBounded: a line with no end is passed on once it is
// longer than maxPendingLine, and bytes that only look like a marker
// (another process's token) are passed on as they are.
func TestStderrCaptureBounded(t *testing.T) {
	var real, pipe bytes.Buffer
	c := newStderrCapture(&real, &pipe)
	long := strings.Repeat("x", maxPendingLine+1)
	_, _ = c.Write([]byte(long))
	if real.Len() != len(long) {
		t.Errorf("passed on %d bytes of an endless line, want %d", real.Len(), len(long))
	}
	real.Reset()
	fake := "\x00zrun-drain-0000000000000000-1\x00 and text\n"
	_, _ = c.Write([]byte(fake))
	if real.String() != fake {
		t.Errorf("a false marker: passed on %q, want %q", real.String(), fake)
	}
}

// TestStderrDrainBounded: a call's answer waits for its lines only so
// long: with nobody reading the pipe, drain still returns.
func TestStderrDrainBounded(t *testing.T) {
	var real, pipe bytes.Buffer
	c := newStderrCapture(&real, &pipe)
	done := make(chan struct{})
	go func() {
		c.drain()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * drainWait):
		t.Fatal("drain waits for a marker nobody reads")
	}
	if !bytes.HasPrefix(pipe.Bytes(), c.marker) {
		t.Errorf("drain wrote %q, want its marker", pipe.Bytes())
	}
}
