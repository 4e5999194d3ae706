package targets

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/pkg/sftp"
)

// flushEvery is how many bytes an upload hands over between two flushes
// (a variable for tests).
var flushEvery int64 = 64 << 20

// flushed counts the flushes done, for tests.
var flushed atomic.Int64

// flusher writes an upload's temporary file to disk while it is still
// being transferred, through the connection's second SFTP session, so that
// the fsync before the rename finds little left to write: the disk works
// beside the network instead of after it. Its flushes only speed the
// final one up; their errors are the final fsync's to report.
type flusher struct {
	c   *conn
	tmp string

	mu      sync.Mutex
	pending int64      // bytes handed over since the last flush began
	busy    bool       // a flush is running
	off     bool       // no more flushes: ended, or the host cannot
	f       *sftp.File // tmp, opened read-only on the second session
	idle    *sync.Cond // signalled when a flush ends
}

func newFlusher(c *conn, tmp string) *flusher {
	fl := &flusher{c: c, tmp: tmp}
	fl.idle = sync.NewCond(&fl.mu)
	return fl
}

// wrote counts n more bytes and starts a flush once flushEvery have
// passed since the last one began (never two at a time).
func (fl *flusher) wrote(n int) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.pending += int64(n)
	if fl.off || fl.busy || fl.pending < flushEvery {
		return
	}
	fl.pending, fl.busy = 0, true
	go fl.run()
}

func (fl *flusher) run() {
	f, err := fl.open()
	if err == nil {
		if err = f.Sync(); err == nil {
			flushed.Add(1)
		}
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.busy = false
	if err != nil {
		fl.off = true
	}
	if fl.off {
		fl.closeFile()
	}
	fl.idle.Broadcast()
}

// open returns tmp's read-only handle, opened on the first flush: a flush
// of any descriptor of a file writes the whole file.
func (fl *flusher) open() (*sftp.File, error) {
	if fl.f != nil {
		return fl.f, nil
	}
	sc, err := fl.c.flushClient()
	if err != nil {
		return nil, err
	}
	f, err := sc.OpenFile(fl.tmp, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	fl.f = f
	return f, nil
}

// end stops the flushes. Before a publish it waits for the running one
// (its writes would otherwise compete with the final fsync's); before a
// discard it does not, and the running one closes its handle itself.
func (fl *flusher) end(wait bool) {
	if fl == nil {
		return
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.off = true
	for wait && fl.busy {
		fl.idle.Wait()
	}
	if !fl.busy {
		fl.closeFile()
	}
}

func (fl *flusher) closeFile() {
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}
