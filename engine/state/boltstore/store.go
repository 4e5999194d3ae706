package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/zrun-dev/zrun/engine/state"
)

// DefaultTimeout is how long a call waits for another process to let go
// of the file before it fails.
const DefaultTimeout = 10 * time.Second

// Bucket names.
var (
	bucketRuns    = []byte("runs")
	bucketStarted = []byte("started")
	bucketSteps   = []byte("steps")
	bucketLogs    = []byte("logs")
	bucketLocks   = []byte("locks")
	allBuckets    = [][]byte{bucketRuns, bucketStarted, bucketSteps, bucketLogs, bucketLocks}
)

var errClosed = errors.New("ledger store is closed")

// Store is the embedded ledger. It holds the file open only while calls
// are in flight (see the package doc), so it is safe to use from several
// goroutines and from several processes at once.
type Store struct {
	path string
	// Timeout bounds the wait for the file's lock; set it before use.
	Timeout time.Duration
	// OnSalvage, if set, is told each time a write found the file
	// damaged and salvaged it (salvage.go); set it before use.
	OnSalvage func(*state.SalvageReport)

	// mu guards the fields below: the file is open while refs > 0. When
	// another process waits for the file, draining stops new calls from
	// using it until the calls in flight are done and the file is closed
	// (turn_unix.go); drained is signalled then.
	mu       sync.Mutex
	drained  *sync.Cond
	db       *bolt.DB
	refs     int
	closed   bool
	draining bool
	// salvaging keeps new calls out while the file is replaced.
	salvaging bool
	// checked is the file precheck found sound.
	checked os.FileInfo

	// commitMu is held by the goroutine committing a batch of writes;
	// queueMu guards queue, the writes waiting for the next batch.
	commitMu sync.Mutex
	queueMu  sync.Mutex
	queue    []*write

	datasetCache
}

// write is one call's part of a write transaction. done and err are set by
// the committer under commitMu.
type write struct {
	fn   func(*bolt.Tx) error
	done bool
	err  error
}

// Open opens (creating it and its directory if needed) the ledger file at
// path, normally <project>/.zrun/ledger.db.
func Open(path string) (*Store, error) { return OpenOptions(path, Options{}) }

// Options are a Store's settings.
type Options struct {
	// OnSalvage is Store.OnSalvage, set before Open's first write.
	OnSalvage func(*state.SalvageReport)
}

// OpenOptions is Open with options.
func OpenOptions(path string, o Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the ledger's directory: %w", err)
	}
	s := newStore(path)
	s.OnSalvage = o.OnSalvage
	// Open only reads a file that has its buckets, so that `zrun runs` of
	// a damaged one shows what it can (a read never salvages).
	ctx := context.Background()
	complete := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		complete = !slices.ContainsFunc(allBuckets, func(name []byte) bool { return tx.Bucket(name) == nil })
		return nil
	})
	if errors.Is(err, state.ErrDamaged) || (err == nil && complete) {
		return s, nil
	}
	if err == nil {
		err = s.update(ctx, func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("opening ledger %s: %w", path, err)
	}
	return s, nil
}

// newStore is a Store of path that has not touched the file yet.
func newStore(path string) *Store {
	s := &Store{path: path, Timeout: DefaultTimeout}
	s.drained = sync.NewCond(&s.mu)
	return s
}

// Path is the ledger file's path.
func (s *Store) Path() string { return s.path }

// Close releases the Store; calls in flight finish first. Closing twice
// is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// acquire returns the open file, opening it if no other call has it open.
func (s *Store) acquire(ctx context.Context) (*bolt.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil && !s.draining && othersWaiting(s.path) {
		s.draining = true
	}
	for s.draining || s.salvaging {
		s.drained.Wait()
	}
	if s.closed {
		return nil, errClosed
	}
	if s.db == nil {
		if err := s.checkOnce(ctx); err != nil {
			return nil, err
		}
		// Other processes waiting for the file go first.
		letWaitersIn(ctx, s.path, s.Timeout)
		db, err := openFile(ctx, s.path, s.Timeout)
		if err != nil {
			return nil, err
		}
		s.db = db
	}
	s.refs++
	return s.db, nil
}

// checkOnce runs precheck on the file at the path, once per file.
// Called with mu held.
func (s *Store) checkOnce(ctx context.Context) error {
	fi, err := os.Stat(s.path)
	if err != nil || (s.checked != nil && os.SameFile(fi, s.checked)) {
		return nil
	}
	if err := precheck(s.path); err != nil {
		if err := lockedPrecheck(ctx, s.path, s.Timeout); err != nil {
			return err
		}
	}
	s.checked = fi
	return nil
}

// release closes the file when the last call using it is done.
func (s *Store) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs > 0 {
		return nil
	}
	db := s.db
	s.db = nil
	s.draining = false
	s.drained.Broadcast()
	return guard(s.path, db.Close)
}

// openFile opens the bolt file, waiting while another process has it.
// bbolt's own wait polls every 50ms; this polls every 2ms at most, so a
// short transaction elsewhere costs little, and marks this process as
// waiting so that the other one lets it in (turn_unix.go).
func openFile(ctx context.Context, path string, timeout time.Duration) (*bolt.DB, error) {
	var stop func()
	deadline := time.Now().Add(timeout)
	wait := 250 * time.Microsecond
	for {
		db, file, err := tryOpen(path)
		if err == nil && !stillAt(file, path) {
			// A salvage replaced the file while this waited for it.
			err = errors.Join(berrors.ErrTimeout, guard(path, db.Close))
		}
		if !errors.Is(err, berrors.ErrTimeout) {
			return db, err
		}
		if stop == nil {
			stop = startWaiting(path)
			defer stop()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ledger %s is busy: another zrun process held it for %s", path, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Millisecond)
	}
}

// tryOpen opens the file once (a 1ns timeout makes bbolt try the flock
// once), guarded: a file bbolt cannot read is a *fileDamage.
func tryOpen(path string) (db *bolt.DB, file *os.File, err error) {
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	err = guard(path, func() error {
		db, err = bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Nanosecond, NoStatistics: true, OpenFile: openFile})
		return err
	})
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
		fi, _ := os.Stat(path)
		err = &fileDamage{cause: err, file: fi}
	}
	return db, file, err
}

// stillAt reports whether the open file is the one at path.
func stillAt(f *os.File, path string) bool {
	if f == nil {
		return true
	}
	open, err1 := f.Stat()
	now, err2 := os.Stat(path)
	return err1 != nil || err2 != nil || os.SameFile(open, now)
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) (err error) {
	db, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.release()) }()
	return guard(s.path, func() error { return db.View(fn) })
}

// update runs fn in a write transaction, durable when update returns.
// Writes that arrive while another is committing are committed together
// by the first of them to get commitMu; if one fails, each is retried in
// its own transaction so that only the failing one fails. fn may
// therefore run more than once and must not keep effects of a failed run.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	w := &write{fn: fn}
	s.queueMu.Lock()
	s.queue = append(s.queue, w)
	s.queueMu.Unlock()

	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if w.done {
		return w.err
	}
	s.queueMu.Lock()
	batch := s.queue
	s.queue = nil
	s.queueMu.Unlock()
	if len(batch) > 1 {
		// Other callers' writes must not fail because this one gave up.
		ctx = context.WithoutCancel(ctx)
	}
	s.commit(ctx, batch)
	return w.err
}

// commit writes batch. Called with commitMu held.
func (s *Store) commit(ctx context.Context, batch []*write) {
	err := s.commitSalvaging(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, w := range batch {
			w.err = s.commitSalvaging(ctx, []*write{w})
		}
	} else {
		for _, w := range batch {
			w.err = err
		}
	}
	for _, w := range batch {
		w.done = true
	}
}

// commitSalvaging writes batch; if the file turns out damaged, it
// salvages it and writes batch again into the new one.
func (s *Store) commitSalvaging(ctx context.Context, batch []*write) error {
	err := s.commitOnce(ctx, batch)
	fd := (*fileDamage)(nil)
	if !errors.As(err, &fd) && errors.Is(err, state.ErrNotFound) {
		// A damaged branch page can send bbolt to the wrong leaf
		// without a panic: a run written a moment ago is then "not
		// found". Worth a look at the file.
		fd = s.structureDamage(ctx)
	}
	if fd == nil {
		return err
	}
	rep, serr := s.salvage(ctx, fd)
	if serr != nil {
		return errors.Join(s.damageError(err, &dataset{}), serr)
	}
	if rep != nil && s.OnSalvage != nil {
		s.OnSalvage(rep)
	}
	return s.commitOnce(ctx, batch)
}

func (s *Store) commitOnce(ctx context.Context, batch []*write) (err error) {
	db, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.release()) }()
	return guard(s.path, func() error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, w := range batch {
				if err := w.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// Interface guards
var _ state.Store = (*Store)(nil)
