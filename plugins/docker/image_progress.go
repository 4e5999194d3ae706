package docker

import (
	"io"
	"sync"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// transferProgress counts the bytes an image transfer (a build's
// context, a save, a load) moved, and tells the operator at most every
// progressInterval, so that gigabytes do not flood the host with events.
// Safe for concurrent use.
type transferProgress struct {
	ui   sdk.UI
	what string

	mu   sync.Mutex
	n    int64
	last time.Time
}

const progressInterval = 500 * time.Millisecond

func newTransferProgress(ui sdk.UI, what string) *transferProgress {
	return &transferProgress{ui: ui, what: what, last: time.Now()}
}

func (p *transferProgress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += n
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.ui.Progress(p.n, 0, p.what)
	}
}

// bytes is how many bytes were counted.
func (p *transferProgress) bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// countingWriter counts what it passes on to w.
type countingWriter struct {
	w io.Writer
	p *transferProgress
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(int64(n))
	return n, err
}
