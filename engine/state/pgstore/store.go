package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zrun-dev/zrun/engine/state"
)

// migrations[i] takes the schema from version i to i+1. Append only.
var migrations = []string{
	`CREATE TABLE zrun_runs (
		id          text PRIMARY KEY,
		workflow    text NOT NULL,
		env         text NOT NULL,
		params      jsonb,
		usr         text NOT NULL,
		host        text NOT NULL,
		pid         integer NOT NULL,
		config_hash text NOT NULL,
		resume_of   text NOT NULL,
		lock_key    text NOT NULL,
		status      text NOT NULL,
		error       text NOT NULL,
		started_at  timestamptz NOT NULL,
		ended_at    timestamptz,
		outputs     bytea,
		log_seq     bigint NOT NULL DEFAULT 0
	);
	CREATE INDEX zrun_runs_started ON zrun_runs (started_at DESC, id DESC);
	CREATE TABLE zrun_steps (
		run_id     text NOT NULL REFERENCES zrun_runs (id) ON DELETE CASCADE,
		addr       text NOT NULL,
		attempt    integer NOT NULL,
		ord        bigserial,
		action     text NOT NULL,
		status     text NOT NULL,
		error      text NOT NULL,
		started_at timestamptz NOT NULL,
		ended_at   timestamptz,
		outputs    bytea,
		PRIMARY KEY (run_id, addr, attempt)
	);
	CREATE TABLE zrun_logs (
		run_id text NOT NULL REFERENCES zrun_runs (id) ON DELETE CASCADE,
		seq    bigint NOT NULL,
		step   text NOT NULL,
		time   timestamptz NOT NULL,
		stream text NOT NULL,
		line   text NOT NULL,
		PRIMARY KEY (run_id, seq)
	);
	CREATE TABLE zrun_locks (
		key        text PRIMARY KEY,
		run_id     text NOT NULL,
		usr        text NOT NULL,
		host       text NOT NULL,
		pid        integer NOT NULL,
		started_at timestamptz NOT NULL
	);
	CREATE INDEX zrun_locks_run ON zrun_locks (run_id);`,
	`ALTER TABLE zrun_runs ADD COLUMN confirmed_by text NOT NULL DEFAULT ''`,
	`ALTER TABLE zrun_runs ADD COLUMN commit text NOT NULL DEFAULT ''`,
}

// Store is the PostgreSQL ledger. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database dsn names (a postgres:// URL or key=value
// string) and brings its zrun tables up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger database: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ledger database: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// One migrator per schema at a time; the others then find it done.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('zrun_schema:' || current_schema()))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS zrun_schema_version (version integer NOT NULL)`); err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM zrun_schema_version`).Scan(&version); err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("its zrun tables are at version %d, newer than this zrun knows (%d): upgrade zrun", version, len(migrations))
		}
		if version == len(migrations) {
			return nil
		}
		for _, m := range migrations[version:] {
			if _, err := tx.Exec(ctx, m); err != nil {
				return fmt.Errorf("creating zrun tables: %w", err)
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM zrun_schema_version; INSERT INTO zrun_schema_version VALUES (`+fmt.Sprint(len(migrations))+`)`)
		return err
	})
}

// notFound turns a missing row or a foreign key naming a missing run into
// state.ErrNotFound.
func notFound(err error, runID string) error {
	var pgErr *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || (errors.As(err, &pgErr) && pgErr.Code == "23503") {
		return fmt.Errorf("run %s: %w", runID, state.ErrNotFound)
	}
	return err
}

// Interface guards
var _ state.Store = (*Store)(nil)
