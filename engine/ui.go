package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
)

// maxLine is where a line that never ends is cut, so output without
// newlines (a progress bar, binary data) still streams and memory stays
// bounded. The cut is made after masking, so it cannot split a secret.
const maxLine = 64 << 10

// stepUI is the host's sdk.UI for one step attempt: everything an action
// says becomes events, with every secret masked. Stdout and stderr are
// byte streams, chunked in any way: each is masked as a stream, then
// split into lines (see outputStream).
type stepUI struct {
	sink   events.Sink
	addr   string
	info   sdk.RunInfo
	target sdk.Target
	mask   *masker

	stdout, stderr *outputStream
	// streams and ends are the step's pipes (attempt sets them).
	streams *pipe.Streams
	ends    *pipe.Ends
}

func newStepUI(sink events.Sink, info sdk.RunInfo, target sdk.Target, mask *masker) *stepUI {
	u := &stepUI{sink: sink, addr: info.Step, info: info, target: target, mask: mask, streams: pipe.NewStreams(context.Background(), nil, cty.NilVal)}
	u.stdout = newOutputStream(mask, func(l string) { u.log("stdout", l) })
	u.stderr = newOutputStream(mask, func(l string) { u.log("stderr", l) })
	return u
}

func (u *stepUI) log(stream, line string) {
	u.sink.Event(events.StepLog{Time: time.Now(), Step: u.addr, Stream: stream, Line: line})
}

func (u *stepUI) Logf(format string, args ...any) {
	u.log("log", u.mask.Mask(fmt.Sprintf(format, args...)))
}

func (u *stepUI) Stdout() io.Writer  { return u.stdout }
func (u *stepUI) Stderr() io.Writer  { return u.stderr }
func (u *stepUI) Target() sdk.Target { return u.target }
func (u *stepUI) Info() sdk.RunInfo  { return u.info }

func (u *stepUI) Progress(done, total int64, message string) {
	u.sink.Event(events.StepProgress{Time: time.Now(), Step: u.addr, Done: done, Total: total, Message: u.mask.Mask(message)})
}

// flush emits what the streams held back and their partial last lines.
func (u *stepUI) flush() {
	u.stdout.flush()
	u.stderr.flush()
}

// outputStream turns one output stream into lines of text: its bytes are
// masked as a stream (so a secret is masked however the bytes were
// chunked), then split at newlines (a "\r" before one dropped), a line
// longer than maxLine cut at maxLine (before a rune it would split), the
// rule for short lines of secrets applied (lineRule), and invalid UTF-8
// and NUL bytes replaced by U+FFFD. Memory is bounded: the longest secret
// held back, the line being assembled and one line held by lineRule.
type outputStream struct {
	mu    sync.Mutex
	ms    *maskStream
	line  []byte
	lines *lineRule
}

func newOutputStream(mask *masker, emit func(string)) *outputStream {
	w := &outputStream{lines: mask.lines(emit)}
	w.ms = mask.stream(w.add)
	return w
}

func (w *outputStream) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ms.Write(p)
	return len(p), nil
}

// add takes masked bytes: Redacted when redacted, which a cut does not
// split: a line it would take past maxLine is cut before it.
func (w *outputStream) add(b []byte, redacted bool) {
	if redacted {
		start := len(w.line)
		w.line = append(w.line, b...)
		if start > 0 && len(w.line) > maxLine {
			w.emitLine(w.line[:start])
			w.line = append(w.line[:0], w.line[start:]...)
		}
		b = nil
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		part := b
		if i >= 0 {
			part = b[:i]
		}
		b = b[len(part):]
		w.line = append(w.line, part...)
		for len(w.line) > maxLine {
			n := cutAt(w.line, maxLine)
			w.emitLine(w.line[:n])
			w.line = append(w.line[:0], w.line[n:]...)
		}
		if i >= 0 {
			w.emitLine(bytes.TrimSuffix(w.line, []byte("\r")))
			w.line = w.line[:0]
			b = b[1:]
		}
	}
}

func (w *outputStream) emitLine(l []byte) {
	w.lines.line(string(l))
}

func (w *outputStream) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ms.Flush()
	if len(w.line) > 0 {
		w.emitLine(bytes.TrimSuffix(w.line, []byte("\r")))
		w.line = nil
	}
	w.lines.flush()
}

// cutAt returns where to cut b (longer than n) at most n bytes in: n,
// or the start of a valid UTF-8 sequence that n would split.
func cutAt(b []byte, n int) int {
	if utf8.RuneStart(b[n]) {
		return n
	}
	for j := n - 1; j > n-utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			if _, size := utf8.DecodeRune(b[j:]); size > 1 && j+size > n {
				return j
			}
			return n
		}
	}
	return n
}

// Interface guards
var _ sdk.UI = (*stepUI)(nil)

// InputStream and OutputStream serve an in-process plugin: the host's
// own process connects its pipes. A plugin over gRPC connects them in its
// own process, from PipeEnds.
func (u *stepUI) InputStream(arg string) (io.ReadCloser, error) { return u.streams.InputStream(arg) }

func (u *stepUI) OutputStream(output string) (io.WriteCloser, error) {
	return u.streams.OutputStream(output)
}

// PipeEnds are the step's pipes, for a transport (sdk/rpc) to carry.
func (u *stepUI) PipeEnds() *pipe.Ends { return u.ends }

// Interface guards
var _ pipe.Host = (*stepUI)(nil)
