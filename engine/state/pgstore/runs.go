package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/zrun-dev/zrun/engine/state"
)

const runColumns = `id, workflow, env, params, usr, host, pid, config_hash, resume_of, lock_key, status, error, started_at, ended_at, outputs, confirmed_by, commit`

// CreateRun records a new run; an empty Status is recorded as running.
func (s *Store) CreateRun(ctx context.Context, r *state.Run) error {
	if r.ID == "" {
		return errors.New("a run needs an id")
	}
	status := r.Status
	if status == "" {
		status = state.StatusRunning
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO zrun_runs (`+runColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		r.ID, r.Workflow, r.Env, r.Params, r.User, r.Host, r.PID, r.ConfigHash, r.ResumeOf, r.LockKey,
		status, r.Error, r.StartedAt, nullTime(r.EndedAt), r.Outputs, r.ConfirmedBy, r.Commit)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("run %s already exists", r.ID)
	}
	return err
}

// FinishRun records a run's end.
func (s *Store) FinishRun(ctx context.Context, id string, status state.Status, errMsg string, outputs []byte, endedAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE zrun_runs SET status = $2, error = $3, outputs = $4, ended_at = $5 WHERE id = $1`,
		id, status, errMsg, outputs, nullTime(endedAt))
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return notFound(err, id)
}

// GetRun returns the run id, or an error wrapping state.ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (*state.Run, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+runColumns+` FROM zrun_runs WHERE id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, scanRun)
	return r, notFound(err, id)
}

// ListRuns returns the runs f selects, newest first.
func (s *Store) ListRuns(ctx context.Context, f state.Filter) ([]*state.Run, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+runColumns+` FROM zrun_runs
		WHERE ($1 = '' OR workflow = $1) AND ($2 = '' OR env = $2) AND ($3 = '' OR status = $3)
		ORDER BY started_at DESC, id DESC LIMIT $4`,
		f.Workflow, f.Env, f.Status, f.MaxRuns())
	return pgx.CollectRows(rows, scanRun)
}

func scanRun(row pgx.CollectableRow) (*state.Run, error) {
	var r state.Run
	var ended *time.Time
	err := row.Scan(&r.ID, &r.Workflow, &r.Env, &r.Params, &r.User, &r.Host, &r.PID, &r.ConfigHash, &r.ResumeOf,
		&r.LockKey, &r.Status, &r.Error, &r.StartedAt, &ended, &r.Outputs, &r.ConfirmedBy, &r.Commit)
	if ended != nil {
		r.EndedAt = *ended
	}
	return &r, err
}

const putStepSQL = `INSERT INTO zrun_steps (run_id, addr, attempt, action, status, error, started_at, ended_at, outputs)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (run_id, addr, attempt) DO UPDATE SET action = excluded.action, status = excluded.status,
			error = excluded.error, started_at = excluded.started_at, ended_at = excluded.ended_at, outputs = excluded.outputs`

func stepArgs(st *state.Step) []any {
	return []any{st.RunID, st.Addr, st.Attempt, st.Action, st.Status, st.Error, st.StartedAt, nullTime(st.EndedAt), st.Outputs}
}

// PutSteps records several step attempts in one transaction, sent as one
// batch: one round trip and one commit for all of them.
func (s *Store) PutSteps(ctx context.Context, sts []*state.Step) error {
	if len(sts) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, st := range sts {
			b.Queue(putStepSQL, stepArgs(st)...)
		}
		res := tx.SendBatch(ctx, &b)
		for _, st := range sts {
			if _, err := res.Exec(); err != nil {
				res.Close()
				return notFound(err, st.RunID)
			}
		}
		return res.Close()
	})
}

// Steps returns a run's step attempts in the order they started.
func (s *Store) Steps(ctx context.Context, runID string) ([]*state.Step, error) {
	rows, _ := s.pool.Query(ctx, `SELECT run_id, addr, attempt, action, status, error, started_at, ended_at, outputs
		FROM zrun_steps WHERE run_id = $1 ORDER BY started_at, ord`, runID)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*state.Step, error) {
		var st state.Step
		var ended *time.Time
		err := row.Scan(&st.RunID, &st.Addr, &st.Attempt, &st.Action, &st.Status, &st.Error, &st.StartedAt, &ended, &st.Outputs)
		if ended != nil {
			st.EndedAt = *ended
		}
		return &st, err
	})
}

// appendLogs bumps the run's line counter by the number of lines and
// inserts them numbered below it, in one statement; it returns the new
// counter, no row if the run does not exist.
const appendLogs = `WITH c AS (
		UPDATE zrun_runs SET log_seq = log_seq + cardinality($2::text[]) WHERE id = $1 RETURNING log_seq
	), ins AS (
		INSERT INTO zrun_logs (run_id, seq, step, time, stream, line)
		SELECT $1, c.log_seq - cardinality($2::text[]) + u.n, u.step, u.time, u.stream, u.line
		FROM c, unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[]) WITH ORDINALITY AS u(step, time, stream, line, n)
	)
	SELECT log_seq FROM c`

// AppendLogs records lines in one transaction, assigning each its Seq
// (written back into lines) from its run's counter.
func (s *Store) AppendLogs(ctx context.Context, lines []state.LogLine) error {
	byRun := map[string][]int{}
	for i, l := range lines {
		byRun[l.RunID] = append(byRun[l.RunID], i)
	}
	// Runs in a fixed order, so two calls never wait on each other's rows.
	runs := make([]string, 0, len(byRun))
	for id := range byRun {
		runs = append(runs, id)
	}
	sort.Strings(runs)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, id := range runs {
			idx := byRun[id]
			steps, times, streams, texts := make([]string, len(idx)), make([]time.Time, len(idx)), make([]string, len(idx)), make([]string, len(idx))
			for j, i := range idx {
				steps[j], times[j], streams[j], texts[j] = lines[i].Step, lines[i].Time, lines[i].Stream, lines[i].Line
			}
			var last int64
			if err := tx.QueryRow(ctx, appendLogs, id, steps, times, streams, texts).Scan(&last); err != nil {
				return notFound(err, id)
			}
			for j, i := range idx {
				lines[i].Seq = last - int64(len(idx)) + int64(j) + 1
			}
		}
		return nil
	})
}

// Logs returns a run's lines after afterSeq, of one step or all ("").
func (s *Store) Logs(ctx context.Context, runID, step string, afterSeq int64) ([]state.LogLine, error) {
	rows, _ := s.pool.Query(ctx, `SELECT run_id, step, seq, time, stream, line FROM zrun_logs
		WHERE run_id = $1 AND seq > $2 AND ($3 = '' OR step = $3) ORDER BY seq`, runID, afterSeq, step)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (state.LogLine, error) {
		var l state.LogLine
		err := row.Scan(&l.RunID, &l.Step, &l.Seq, &l.Time, &l.Stream, &l.Line)
		return l, err
	})
}

// nullTime stores the zero time ("not yet") as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
