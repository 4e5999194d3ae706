package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/zrun-dev/zrun/engine/state"
)

// errRaced means another transaction inserted the lock row first; Lock
// then reads it again.
var errRaced = errors.New("lock row inserted concurrently")

// Lock takes h.Key for h.RunID. The holder locking again succeeds. A
// holder whose process is gone (state.HolderAlive) is replaced and its
// run, if still running, marked abandoned.
func (s *Store) Lock(ctx context.Context, h state.LockHolder) error {
	if h.Key == "" {
		return errors.New("a lock needs a key")
	}
	// Each retry follows another run taking or freeing the key between
	// our read and our insert; a few suffice.
	for range 10 {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return lock(ctx, tx, h) })
		if !errors.Is(err, errRaced) {
			return err
		}
	}
	return fmt.Errorf("lock %s changed hands too often to take", h.Key)
}

func lock(ctx context.Context, tx pgx.Tx, h state.LockHolder) error {
	rows, _ := tx.Query(ctx, `SELECT key, run_id, usr, host, pid, started_at FROM zrun_locks WHERE key = $1 FOR UPDATE`, h.Key)
	cur, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[state.LockHolder])
	if errors.Is(err, pgx.ErrNoRows) {
		tag, err := tx.Exec(ctx, `INSERT INTO zrun_locks (key, run_id, usr, host, pid, started_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (key) DO NOTHING`, h.Key, h.RunID, h.User, h.Host, h.PID, h.StartedAt)
		if err == nil && tag.RowsAffected() == 0 {
			return errRaced
		}
		return err
	}
	if err != nil {
		return err
	}
	if cur.RunID == h.RunID {
		return nil
	}
	if state.HolderAlive(cur) {
		return &state.LockedError{Holder: cur}
	}
	if err := abandon(ctx, tx, cur.RunID, state.TakeOverReason(cur, h)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE zrun_locks SET run_id = $2, usr = $3, host = $4, pid = $5, started_at = $6 WHERE key = $1`,
		h.Key, h.RunID, h.User, h.Host, h.PID, h.StartedAt)
	return err
}

// Unlock releases key if runID holds it; otherwise it does nothing and
// returns nil.
func (s *Store) Unlock(ctx context.Context, key, runID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM zrun_locks WHERE key = $1 AND run_id = $2`, key, runID)
	return err
}

// ForceUnlock releases every lock runID holds and marks the run abandoned
// if it is still running; state.ErrNotFound when it holds none.
func (s *Store) ForceUnlock(ctx context.Context, runID string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM zrun_locks WHERE run_id = $1`, runID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no lock held by run %s: %w", runID, state.ErrNotFound)
		}
		return abandon(ctx, tx, runID, state.ForceUnlockReason)
	})
}

// Locks lists the held locks, by key.
func (s *Store) Locks(ctx context.Context) ([]state.LockHolder, error) {
	rows, _ := s.pool.Query(ctx, `SELECT key, run_id, usr, host, pid, started_at FROM zrun_locks ORDER BY key`)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[state.LockHolder])
}

// abandon marks run id abandoned if it is recorded and still running.
func abandon(ctx context.Context, tx pgx.Tx, id, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE zrun_runs SET status = $2, error = $3 WHERE id = $1 AND status = $4`,
		id, state.StatusAbandoned, reason, state.StatusRunning)
	return err
}
