package pgstore

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestMigrateKeepsRuns: a ledger of the first schema (before runs recorded
// who confirmed them) is brought up to date with its runs kept, read as
// confirmed by no one.
func TestMigrateKeepsRuns(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, migrations[0]+`;
		CREATE TABLE zrun_schema_version (version integer NOT NULL);
		INSERT INTO zrun_schema_version VALUES (1);
		INSERT INTO zrun_runs (id, workflow, env, usr, host, pid, config_hash, resume_of, lock_key, status, error, started_at)
			VALUES ('old', 'deploy', 'prod', 'ada', 'h', 1, 'x', '', 'prod', 'ok', '', now())`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.GetRun(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if r.Workflow != "deploy" || r.ConfirmedBy != "" {
		t.Errorf("old run read as %+v", r)
	}
}
