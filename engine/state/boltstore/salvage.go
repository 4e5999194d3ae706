package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zrun-dev/zrun/engine/state"
)

// Salvage copies every record that can still be read into a new ledger
// file, moves the old file aside (to <ledger>.damaged-<UTC time>) and puts
// the new one in its place. Other processes wait for it as for any write,
// and use the new file after.
func (s *Store) Salvage(ctx context.Context) (*state.SalvageReport, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.salvage(ctx, nil)
}

// salvage replaces the file; when damage is set, only if the file at the
// path is still the one that failed (another process may have salvaged
// it since). It returns a nil report when it did nothing. Called with
// commitMu held and no transaction of s open.
func (s *Store) salvage(ctx context.Context, damage *fileDamage) (*state.SalvageReport, error) {
	s.mu.Lock()
	for s.salvaging {
		s.drained.Wait()
	}
	s.salvaging = true // no new call opens the file
	for s.db != nil {  // and the calls in flight finish
		s.drained.Wait()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.salvaging = false
		s.drained.Broadcast()
		s.mu.Unlock()
	}()

	f, fi, err := openLocked(ctx, s.path, true, s.Timeout)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if now, err := os.Stat(s.path); err != nil || !os.SameFile(fi, now) ||
		(damage != nil && damage.file != nil && !os.SameFile(fi, damage.file)) {
		return nil, nil // salvaged already
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("reading the damaged ledger %s: %w", s.path, err)
	}
	d := readDataset(data)
	rep := &state.SalvageReport{Damaged: s.path + ".damaged-" + time.Now().UTC().Format("20060102T150405.000Z"), New: s.path,
		Problems: d.problems, StandIns: d.standIns}
	if damage != nil && len(rep.Problems) == 0 {
		rep.Problems = []string{damage.Error()}
	}
	tmp := s.path + ".salvage"
	if err := writeDataset(tmp, d, rep); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("writing the salvaged ledger %s: %w", tmp, err)
	}
	if err := os.Rename(s.path, rep.Damaged); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return nil, err
	}
	syncDir(filepath.Dir(s.path))
	return rep, nil
}

// writeDataset writes d into a new ledger file at path, counting what it
// writes into rep.
func writeDataset(path string, d *dataset, rep *state.SalvageReport) error {
	_ = os.Remove(path)
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second, NoStatistics: true})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		runs, started, locks := tx.Bucket(bucketRuns), tx.Bucket(bucketStarted), tx.Bucket(bucketLocks)
		for id, r := range d.runs {
			if err := putJSON(runs, []byte(id), r); err != nil {
				return err
			}
			if err := started.Put(startedKey(r.StartedAt, id), []byte(id)); err != nil {
				return err
			}
			rep.Runs++
			if err := writeSteps(tx, id, d.steps[id]); err != nil {
				return err
			}
			rep.Steps += len(d.steps[id])
			if err := writeLogs(tx, id, d.logs[id]); err != nil {
				return err
			}
			rep.Logs += len(d.logs[id])
		}
		for k, h := range d.locks {
			if err := putJSON(locks, []byte(k), &h); err != nil {
				return err
			}
			rep.Locks++
		}
		return nil
	})
	return errors.Join(err, db.Close())
}

func writeSteps(tx *bolt.Tx, runID string, steps map[string]*stepRecord) error {
	if len(steps) == 0 {
		return nil
	}
	b, err := tx.Bucket(bucketSteps).CreateBucket([]byte(runID))
	if err != nil {
		return err
	}
	var seq uint64
	for k, rec := range steps {
		if err := putJSON(b, []byte(k), rec); err != nil {
			return err
		}
		seq = max(seq, rec.Order)
	}
	return b.SetSequence(seq)
}

func writeLogs(tx *bolt.Tx, runID string, lines map[int64]state.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	b, err := tx.Bucket(bucketLogs).CreateBucket([]byte(runID))
	if err != nil {
		return err
	}
	seqs := make([]int64, 0, len(lines))
	for seq := range lines {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, seq := range seqs {
		l := lines[seq]
		if err := putJSON(b, binary.BigEndian.AppendUint64(nil, uint64(seq)), &l); err != nil {
			return err
		}
	}
	return b.SetSequence(uint64(seqs[len(seqs)-1]))
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
