package pgstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/statetest"
)

// testDSN is the server the tests use; without one they skip, except
// under CI where a missing server fails them.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("ZRUN_TEST_POSTGRES")
	if dsn != "" {
		return dsn
	}
	msg := "ZRUN_TEST_POSTGRES is not set; start PostgreSQL with `pg_ctlcluster 15 main start` " +
		"and export ZRUN_TEST_POSTGRES=postgres://postgres:postgres@127.0.0.1:5432/zrun_test " +
		"(engine/state/pgstore/CI-SETUP.md has every step)"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// freshSchema creates an empty schema, dropped when tb ends, and returns
// dsn with search_path set to it.
func freshSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connecting to %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("zrun_test_%d_%x", os.Getpid(), rand.Uint64())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return withSearchPath(tb, dsn, schema)
}

func withSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("ZRUN_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openFresh(t *testing.T) state.Store {
	t.Helper()
	s, err := Open(t.Context(), freshSchema(t, testDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	statetest.Run(t, openFresh, statetest.Reopen(func(t *testing.T, s state.Store) state.Store {
		t.Helper()
		// The pool's search_path names the schema; a new Store on the same
		// DSN must find the data (and not migrate again).
		dsn := s.(*Store).pool.Config().ConnString()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s2
	}))
}

func TestMigrate(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	ctx := t.Context()
	// Several zrun opening a new database at once migrate it once.
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			s, err := Open(ctx, dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, version int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM zrun_schema_version`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != len(migrations) {
		t.Errorf("zrun_schema_version has %d rows, version %d; want 1 row, version %d", rows, version, len(migrations))
	}

	// A database migrated by a newer zrun is refused.
	if _, err := conn.Exec(ctx, `UPDATE zrun_schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, dsn); err == nil {
		s.Close()
		t.Error("Open accepted a schema newer than it knows")
	}
}
