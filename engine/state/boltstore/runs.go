package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zrun-dev/zrun/engine/state"
)

// CreateRun records a new run; an empty Status is recorded as running.
func (s *Store) CreateRun(ctx context.Context, r *state.Run) error {
	if r.ID == "" {
		return errors.New("a run needs an id")
	}
	rec := *r
	if rec.Status == "" {
		rec.Status = state.StatusRunning
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		if runs.Get([]byte(r.ID)) != nil {
			return fmt.Errorf("run %s already exists", r.ID)
		}
		if err := putJSON(runs, []byte(r.ID), &rec); err != nil {
			return err
		}
		started := tx.Bucket(bucketStarted)
		started.FillPercent = 0.9 // mostly appended
		return started.Put(startedKey(rec.StartedAt, rec.ID), []byte(rec.ID))
	})
}

// FinishRun records a run's end.
func (s *Store) FinishRun(ctx context.Context, id string, status state.Status, errMsg string, outputs []byte, endedAt time.Time) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		return modifyRun(tx, id, func(r *state.Run) {
			r.Status, r.Error, r.Outputs, r.EndedAt = status, errMsg, outputs, endedAt
		})
	})
}

// GetRun returns the run id, or an error wrapping state.ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (*state.Run, error) {
	var r *state.Run
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = getRun(tx, id)
		return err
	})
	switch {
	case errors.Is(err, state.ErrDamaged):
		err = s.damaged(ctx, err, func(d *dataset) { r = d.runs[id] })
		if r == nil {
			err = errors.Join(fmt.Errorf("run %s: %w", id, state.ErrNotFound), err)
		}
	case errors.Is(err, state.ErrNotFound):
		// ListRuns of a damaged file may list a run that the tree lost
		// (found in a page no longer reached): look for it there too.
		if d, derr := s.readDataset(ctx); derr == nil && len(d.problems) > 0 && d.runs[id] != nil {
			r, err = d.runs[id], s.damageError(err, d)
		}
	}
	return r, err
}

// ListRuns returns the runs f selects, newest first.
func (s *Store) ListRuns(ctx context.Context, f state.Filter) ([]*state.Run, error) {
	var out []*state.Run
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketStarted).Cursor()
		for k, id := c.Last(); k != nil && len(out) < f.MaxRuns(); k, id = c.Prev() {
			r, err := getRun(tx, string(id))
			if errors.Is(err, state.ErrNotFound) {
				return fmt.Errorf("the start index names unknown run %q (%w)", id, state.ErrDamaged)
			}
			if err != nil {
				return err
			}
			if f.Match(r) {
				out = append(out, r)
			}
		}
		return nil
	})
	if errors.Is(err, state.ErrDamaged) {
		err = s.damaged(ctx, err, func(d *dataset) { out = d.listRuns(f) })
	}
	return out, err
}

// stepRecord is a stored step attempt; Order is when it was first
// recorded, to keep Steps stable among attempts that started at once.
type stepRecord struct {
	state.Step
	Order uint64
}

// PutSteps records several step attempts in one transaction.
func (s *Store) PutSteps(ctx context.Context, sts []*state.Step) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		for _, st := range sts {
			if err := putStep(tx, st); err != nil {
				return err
			}
		}
		return nil
	})
}

func putStep(tx *bolt.Tx, st *state.Step) error {
	rec := stepRecord{Step: *st}
	key := stepKey(st.Addr, st.Attempt)
	steps, err := runBucket(tx, bucketSteps, st.RunID)
	if err != nil {
		return err
	}
	if old := steps.Get(key); old != nil {
		var prev stepRecord
		if err := json.Unmarshal(old, &prev); err != nil {
			return corrupt(st.RunID, err)
		}
		rec.Order = prev.Order
	} else if rec.Order, err = steps.NextSequence(); err != nil {
		return err
	}
	return putJSON(steps, key, &rec)
}

// Steps returns a run's step attempts in the order they started.
func (s *Store) Steps(ctx context.Context, runID string) ([]*state.Step, error) {
	var recs []stepRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSteps).Bucket([]byte(runID))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var rec stepRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return corrupt(runID, err)
			}
			recs = append(recs, rec)
			return nil
		})
	})
	if errors.Is(err, state.ErrDamaged) {
		var out []*state.Step
		err = s.damaged(ctx, err, func(d *dataset) { out = d.runSteps(runID) })
		return out, err
	}
	return sortSteps(recs), err
}

// sortSteps orders step attempts as they started.
func sortSteps(recs []stepRecord) []*state.Step {
	sort.SliceStable(recs, func(i, j int) bool {
		if !recs[i].StartedAt.Equal(recs[j].StartedAt) {
			return recs[i].StartedAt.Before(recs[j].StartedAt)
		}
		return recs[i].Order < recs[j].Order
	})
	out := make([]*state.Step, len(recs))
	for i := range recs {
		out[i] = &recs[i].Step
	}
	return out
}

// AppendLogs records lines in one transaction, assigning each its Seq
// (written back into lines) from its run's log bucket sequence.
func (s *Store) AppendLogs(ctx context.Context, lines []state.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		buckets := map[string]*bolt.Bucket{}
		for i := range lines {
			l := &lines[i]
			b := buckets[l.RunID]
			if b == nil {
				var err error
				if b, err = runBucket(tx, bucketLogs, l.RunID); err != nil {
					return err
				}
				b.FillPercent = 0.9 // only appended
				buckets[l.RunID] = b
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			l.Seq = int64(seq)
			if err := putJSON(b, seqKey(seq), l); err != nil {
				return err
			}
		}
		return nil
	})
}

// Logs returns a run's lines after afterSeq, of one step or all ("").
func (s *Store) Logs(ctx context.Context, runID, step string, afterSeq int64) ([]state.LogLine, error) {
	var out []state.LogLine
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs).Bucket([]byte(runID))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(uint64(max(afterSeq, 0)) + 1)); k != nil; k, v = c.Next() {
			var l state.LogLine
			if err := json.Unmarshal(v, &l); err != nil {
				return corrupt(runID, err)
			}
			if step == "" || l.Step == step {
				out = append(out, l)
			}
		}
		return nil
	})
	if errors.Is(err, state.ErrDamaged) {
		err = s.damaged(ctx, err, func(d *dataset) { out = d.runLogs(runID, step, afterSeq) })
	}
	return out, err
}

// getRun reads a run in tx.
func getRun(tx *bolt.Tx, id string) (*state.Run, error) {
	v := tx.Bucket(bucketRuns).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("run %s: %w", id, state.ErrNotFound)
	}
	var r state.Run
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, corrupt(id, err)
	}
	if r.ID != id {
		return nil, corrupt(id, fmt.Errorf("it names run %q", r.ID))
	}
	return &r, nil
}

// modifyRun rewrites a run in tx; its StartedAt must not change.
func modifyRun(tx *bolt.Tx, id string, change func(*state.Run)) error {
	r, err := getRun(tx, id)
	if err != nil {
		return err
	}
	change(r)
	return putJSON(tx.Bucket(bucketRuns), []byte(id), r)
}

// runBucket returns run id's bucket under parent, creating it; the run
// must exist.
func runBucket(tx *bolt.Tx, parent []byte, id string) (*bolt.Bucket, error) {
	if tx.Bucket(bucketRuns).Get([]byte(id)) == nil {
		return nil, fmt.Errorf("run %s: %w", id, state.ErrNotFound)
	}
	return tx.Bucket(parent).CreateBucketIfNotExists([]byte(id))
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// startedKey orders runs by start time, then id. The sign bit is flipped
// so times before 1970 sort first.
func startedKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63))
	return append(k, id...)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// stepKey is addr, a NUL (which an address never holds) and the attempt.
func stepKey(addr string, attempt int) []byte {
	k := append([]byte(addr), 0)
	return binary.BigEndian.AppendUint32(k, uint32(attempt))
}
