package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/zrun-dev/zrun/engine/state"
)

// Damage. bbolt checksums only its meta pages: a damaged data page makes
// it panic, or read outside its mapping and fault. Every call into bbolt
// runs under guard, which turns both into an error (a fault becomes a
// panic on the goroutine that asked for it, see debug.SetPanicOnFault).
// Then a read answers from what readDataset can still find in the file,
// with a *state.DamageError saying what is lost; a write salvages the file
// (salvage.go) and goes on in the new one.

// fileDamage is bbolt failing on the file itself: it panicked or faulted,
// or refused to open it.
type fileDamage struct {
	cause any
	// file is the damaged file, to salvage that one and not a file
	// another process put in its place since.
	file os.FileInfo
}

func (e *fileDamage) Error() string { return fmt.Sprintf("bbolt failed reading it: %v", e.cause) }

// Is makes errors.Is(err, state.ErrDamaged) true.
func (e *fileDamage) Is(target error) bool { return target == state.ErrDamaged }

// guard runs fn, turning a panic or a memory fault in it into a
// *fileDamage about path.
func guard(path string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fi, _ := os.Stat(path)
			err = &fileDamage{cause: p, file: fi}
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn()
}

// corrupt is a record that does not decode.
func corrupt(id string, err error) error {
	return fmt.Errorf("ledger record of run %s is unreadable: %w (%w)", id, err, state.ErrDamaged)
}

// damaged answers a read that met damage: it reads the whole file without
// bbolt and lets answer take what it needs, then returns a
// *state.DamageError naming what could not be read.
func (s *Store) damaged(ctx context.Context, cause error, answer func(*dataset)) error {
	d, err := s.readDataset(ctx)
	if err != nil {
		return errors.Join(cause, err)
	}
	answer(d)
	return s.damageError(cause, d)
}

func (s *Store) damageError(cause error, d *dataset) error {
	problems := d.problems
	if len(problems) == 0 {
		problems = []string{cause.Error()}
	}
	return &state.DamageError{Where: s.path, Problems: problems}
}

// readDataset reads the file's bytes under a shared lock (no write is
// halfway through) and every record in them. The result is kept while
// the file is unchanged: `zrun show` reads a run, then its steps.
func (s *Store) readDataset(ctx context.Context) (*dataset, error) {
	f, fi, err := openLocked(ctx, s.path, false, s.Timeout)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cache != nil && os.SameFile(fi, s.cacheFile) && fi.ModTime().Equal(s.cacheFile.ModTime()) && fi.Size() == s.cacheFile.Size() {
		return s.cache, nil
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("reading the damaged ledger %s: %w", s.path, err)
	}
	s.cache, s.cacheFile = readDataset(data), fi
	return s.cache, nil
}

// structureDamage reads the whole file without bbolt and returns what is
// wrong with it as a *fileDamage, nil if nothing is.
func (s *Store) structureDamage(ctx context.Context) *fileDamage {
	d, err := s.readDataset(ctx)
	if err != nil || len(d.problems) == 0 {
		return nil
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	return &fileDamage{cause: d.problems[0], file: s.cacheFile}
}

// datasetCache is the last dataset read, and the file it was read from.
type datasetCache struct {
	cacheMu   sync.Mutex
	cache     *dataset
	cacheFile os.FileInfo
}

// openLocked opens the file at path with the flock bbolt takes, shared or
// exclusive; closing the file releases it.
func openLocked(ctx context.Context, path string, exclusive bool, timeout time.Duration) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	err = lockFile(ctx, f, exclusive, timeout)
	var fi os.FileInfo
	if err == nil {
		fi, err = f.Stat() // after the lock: no write is halfway through
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
