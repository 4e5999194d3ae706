package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math"
	"runtime/debug"
	"sync"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// meter counts and hashes the bytes that pass one side of an action.
type meter struct {
	n int64
	h hash.Hash
}

func newMeter() *meter { return &meter{h: sha256.New()} }

func (m *meter) add(p []byte) {
	m.n += int64(len(p))
	m.h.Write(p)
}

// sum is the SHA-256 of what passed, in lowercase hex.
func (m *meter) sum() string { return hex.EncodeToString(m.h.Sum(nil)) }

// meteredReader meters what it reads from r, and keeps r's first error
// (failed): a failure of the stream itself, told apart from the failures
// of the formats read through it. It ends with ctx. A decoder may read
// it from a goroutine of its own: failed and total are safe to call from
// any.
type meteredReader struct {
	ctx context.Context
	r   io.Reader
	// after, when set, is called with the total read so far after each
	// read, and may fail it.
	after func(n int64) error

	mu  sync.Mutex
	m   *meter
	err error
}

func (r *meteredReader) Read(p []byte) (int, error) {
	if err := context.Cause(r.ctx); err != nil {
		r.setErr(err)
		return 0, err
	}
	n, err := r.r.Read(p)
	r.mu.Lock()
	r.m.add(p[:n])
	total := r.m.n
	r.mu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) {
		r.setErr(err)
	}
	if err == nil && r.after != nil {
		if err = r.after(total); err != nil {
			r.setErr(err)
		}
	}
	return n, err
}

func (r *meteredReader) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// failed is the first error the reader met, or nil.
func (r *meteredReader) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// meteredWriter meters what it writes to w (when m is set), and keeps
// w's first error. After fail, it writes nothing more: an encoder closed
// to release its goroutines must not write a valid end of stream after
// a failure. A compressor writes it from a goroutine of its own: fail
// may be called from any, and every field is read only once the
// compressor has been closed.
type meteredWriter struct {
	w io.Writer
	m *meter

	mu     sync.Mutex
	err    error // w's first error
	failed bool
}

var errFailed = errors.New("the step failed: nothing more is written")

func (w *meteredWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed {
		return 0, errFailed
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	if w.m != nil {
		w.m.add(p[:n])
	}
	if err != nil {
		w.err = err
	}
	return n, err
}

func (w *meteredWriter) fail() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failed = true
}

// writeErr is w's first error, or nil.
func (w *meteredWriter) writeErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// progressInterval is how often an action reports its progress at most.
const progressInterval = 500 * time.Millisecond

// progress reports raw bytes done to the operator, at most every
// progressInterval. Safe for concurrent use.
type progress struct {
	ui   sdk.UI
	what string

	mu   sync.Mutex
	last time.Time
}

func newProgress(ui sdk.UI, what string) *progress {
	return &progress{ui: ui, what: what, last: time.Now()}
}

func (p *progress) report(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.ui.Progress(done, 0, p.what)
	}
}

// done reports the end, whenever the last report was.
func (p *progress) done(n int64) { p.ui.Progress(n, n, p.what) }

// holdback passes on what it is written except the last hold bytes,
// which it passes on only at Flush: unpack calls Flush once the input
// has been read to its end and checked, so a consumer that stops at its
// own format's end (psql at a dump's last statement) never gets all of
// an input that fails its checks.
type holdback struct {
	w    io.Writer
	buf  []byte
	hold int
}

// holdbackSize is how much unpack holds back until its input has passed
// every check.
const holdbackSize = 1 << 20

func newHoldback(w io.Writer, hold int) *holdback {
	return &holdback{w: w, hold: hold, buf: make([]byte, 0, hold+1<<20)}
}

func (h *holdback) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(h.buf) == cap(h.buf) {
			out := len(h.buf) - h.hold
			if _, err := h.w.Write(h.buf[:out]); err != nil {
				return n - len(p), err
			}
			h.buf = h.buf[:copy(h.buf, h.buf[out:])]
		}
		k := copy(h.buf[len(h.buf):cap(h.buf)], p)
		h.buf = h.buf[:len(h.buf)+k]
		p = p[k:]
	}
	return n, nil
}

// Flush passes on what is held back.
func (h *holdback) Flush() error {
	_, err := h.w.Write(h.buf)
	h.buf = h.buf[:0]
	return err
}

// softMemoryLimit is the Go memory limit (debug.SetMemoryLimit) the
// plugin's process sets itself when it packs or unpacks, unless a limit
// is set already (GOMEMLIMIT). The compressors and age allocate buffers
// by the chunk, which Go's collector would otherwise let pile up to
// twice the live heap (the pack's zstdBudget, unpack's unpackMemory)
// before it frees them. With the binary's own pages, the process stays
// under 160 MB. The plugin runs in a process of its own, so the limit is
// its alone.
const softMemoryLimit = 128 << 20

// limitMemory sets softMemoryLimit unless a limit is set.
func limitMemory() {
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}
