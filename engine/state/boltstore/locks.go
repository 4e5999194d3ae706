package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/zrun-dev/zrun/engine/state"
)

// Lock takes h.Key for h.RunID in one write transaction, so two processes
// cannot both take it. The holder locking again succeeds. A holder whose
// process is gone (state.HolderAlive) is replaced and its run, if still
// running, marked abandoned.
func (s *Store) Lock(ctx context.Context, h state.LockHolder) error {
	if h.Key == "" {
		return errors.New("a lock needs a key")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		locks := tx.Bucket(bucketLocks)
		if v := locks.Get([]byte(h.Key)); v != nil {
			var cur state.LockHolder
			if err := json.Unmarshal(v, &cur); err != nil {
				return unreadableLock([]byte(h.Key), err)
			}
			if cur.RunID == h.RunID {
				return nil
			}
			if state.HolderAlive(cur) {
				return &state.LockedError{Holder: cur}
			}
			if err := abandon(tx, cur.RunID, state.TakeOverReason(cur, h)); err != nil {
				return err
			}
		}
		return putJSON(locks, []byte(h.Key), &h)
	})
}

// Unlock releases key if runID holds it; otherwise it does nothing and
// returns nil.
func (s *Store) Unlock(ctx context.Context, key, runID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		locks := tx.Bucket(bucketLocks)
		v := locks.Get([]byte(key))
		if v == nil {
			return nil
		}
		var cur state.LockHolder
		if err := json.Unmarshal(v, &cur); err != nil {
			return unreadableLock([]byte(key), err)
		}
		if cur.RunID != runID {
			return nil
		}
		return locks.Delete([]byte(key))
	})
}

// ForceUnlock releases every lock runID holds and marks the run abandoned
// if it is still running; state.ErrNotFound when it holds none.
func (s *Store) ForceUnlock(ctx context.Context, runID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		locks := tx.Bucket(bucketLocks)
		var keys [][]byte
		err := locks.ForEach(func(k, v []byte) error {
			var cur state.LockHolder
			// An unreadable lock is skipped here: Locks reports it.
			if json.Unmarshal(v, &cur) == nil && cur.RunID == runID {
				keys = append(keys, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("no lock held by run %s: %w", runID, state.ErrNotFound)
		}
		for _, k := range keys {
			if err := locks.Delete(k); err != nil {
				return err
			}
		}
		return abandon(tx, runID, state.ForceUnlockReason)
	})
}

// Locks lists the held locks, by key.
func (s *Store) Locks(ctx context.Context) ([]state.LockHolder, error) {
	var out []state.LockHolder
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLocks).ForEach(func(k, v []byte) error {
			var h state.LockHolder
			if err := json.Unmarshal(v, &h); err != nil {
				return unreadableLock(k, err)
			}
			out = append(out, h)
			return nil
		})
	})
	if errors.Is(err, state.ErrDamaged) {
		err = s.damaged(ctx, err, func(d *dataset) {
			out = out[:0]
			for _, h := range d.locks {
				out = append(out, h)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		})
	}
	return out, err
}

func unreadableLock(key []byte, err error) error {
	return fmt.Errorf("lock %s is unreadable: %w (%w)", key, err, state.ErrDamaged)
}

// abandon marks run id abandoned if it is still running; a run that is
// not recorded (a lock taken by a process that died before CreateRun) is
// fine.
func abandon(tx *bolt.Tx, id, reason string) error {
	r, err := getRun(tx, id)
	if errors.Is(err, state.ErrNotFound) || (err == nil && r.Status != state.StatusRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	r.Status, r.Error = state.StatusAbandoned, reason
	return putJSON(tx.Bucket(bucketRuns), []byte(id), r)
}
