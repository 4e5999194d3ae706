package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/zrun-dev/zrun/engine/state"
)

// Check verifies the file: first its structure, read without bbolt (every
// page inside the file and reached once, every record decoding); then, if
// that holds, bbolt's own page checks and the ledger's invariants — every
// run readable and indexed by its start time, every index entry naming a
// run, every step and log bucket belonging to a run, every log line's Seq
// matching its key and within its bucket's sequence. It returns nil, or a
// *state.DamageError listing every problem found.
func (s *Store) Check(ctx context.Context) error {
	d, err := s.readDataset(ctx)
	if err != nil {
		return err
	}
	problems := d.problems
	if len(problems) == 0 {
		for _, err := range s.checkTree(ctx) {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &state.DamageError{Where: s.path, Problems: problems}
}

// checkTree runs bbolt's checks and the ledger's invariants; only on a
// file whose structure is sound, since bbolt's check trusts its pages.
func (s *Store) checkTree(ctx context.Context) []error {
	var errs []error
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		runs, started := tx.Bucket(bucketRuns), tx.Bucket(bucketStarted)
		_ = started.ForEach(func(k, id []byte) error {
			if runs.Get(id) == nil {
				errs = append(errs, fmt.Errorf("start index names unknown run %s", id))
			}
			return nil
		})
		_ = runs.ForEach(func(id, v []byte) error {
			var r state.Run
			if err := json.Unmarshal(v, &r); err != nil {
				errs = append(errs, corrupt(string(id), err))
			} else if !bytes.Equal(started.Get(startedKey(r.StartedAt, r.ID)), id) {
				errs = append(errs, fmt.Errorf("run %s is missing from the start index", id))
			}
			return nil
		})
		errs = append(errs, checkRunBuckets(tx, bucketSteps, checkStep)...)
		errs = append(errs, checkRunBuckets(tx, bucketLogs, checkLog)...)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// checkRunBuckets checks that each bucket under parent is named after a
// run and that each of its records passes check.
func checkRunBuckets(tx *bolt.Tx, parent []byte, check func(b *bolt.Bucket, runID string, k, v []byte) error) []error {
	var errs []error
	runs := tx.Bucket(bucketRuns)
	_ = tx.Bucket(parent).ForEachBucket(func(id []byte) error {
		if runs.Get(id) == nil {
			errs = append(errs, fmt.Errorf("%s of unknown run %s", parent, id))
		}
		b := tx.Bucket(parent).Bucket(id)
		return b.ForEach(func(k, v []byte) error {
			if err := check(b, string(id), k, v); err != nil {
				errs = append(errs, err)
			}
			return nil
		})
	})
	return errs
}

func checkStep(_ *bolt.Bucket, runID string, _, v []byte) error {
	var rec stepRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return corrupt(runID, err)
	}
	if rec.RunID != runID {
		return fmt.Errorf("step %s of run %s is filed under run %s", rec.Addr, rec.RunID, runID)
	}
	return nil
}

func checkLog(b *bolt.Bucket, runID string, k, v []byte) error {
	var l state.LogLine
	if err := json.Unmarshal(v, &l); err != nil {
		return corrupt(runID, err)
	}
	if len(k) != 8 || l.Seq <= 0 || uint64(l.Seq) != binary.BigEndian.Uint64(k) || uint64(l.Seq) > b.Sequence() {
		return fmt.Errorf("log line of run %s has Seq %d under key %x (bucket sequence %d)", runID, l.Seq, k, b.Sequence())
	}
	return nil
}
