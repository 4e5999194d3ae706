package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

func TestPluginSchema(t *testing.T) {
	// sdktest.Run checks the plugin (plugin.Check) before it runs.
	res := sdktest.Run(t, Plugin(), "ready", map[string]any{"port": 0})
	if len(res.Diagnostics) == 0 || res.Diagnostics[0].Summary != "Invalid port" {
		t.Errorf("diagnostics = %v", res.Diagnostics)
	}
}

// TestValidate: bad arguments are refused on the argument at fault,
// before anything connects.
func TestValidate(t *testing.T) {
	tests := map[string]struct {
		action string
		args   map[string]any
		want   string // the summary
		path   string // the argument
	}{
		"bad port":             {"ready", map[string]any{"port": 70000}, "Invalid port", "port"},
		"bad timeout":          {"ready", map[string]any{"wait": "soon"}, "Invalid duration", "wait"},
		"bad connect_timeout":  {"query", map[string]any{"database": "x", "sql": "SELECT 1", "connect_timeout": "-1s"}, "Invalid duration", "connect_timeout"},
		"bad sslmode":          {"query", map[string]any{"database": "x", "sql": "SELECT 1", "sslmode": "maybe"}, "Invalid sslmode", "sslmode"},
		"empty sql":            {"exec", map[string]any{"database": "x", "sql": "  "}, "Empty SQL", "sql"},
		"empty database":       {"query", map[string]any{"database": "", "sql": "SELECT 1"}, "Empty name", "database"},
		"long name":            {"create_database", map[string]any{"name": strings.Repeat("a", 64)}, "Name too long", "name"},
		"bad param":            {"query", map[string]any{"database": "x", "sql": "SELECT $1", "params": cty.TupleVal([]cty.Value{cty.ListVal([]cty.Value{cty.True})})}, "Invalid parameter", "params"},
		"max_rows 0":           {"query", map[string]any{"database": "x", "sql": "SELECT 1", "max_rows": 0}, "Invalid max_rows", "max_rows"},
		"drop the maintenance": {"drop_database", map[string]any{"name": "postgres"}, "Database in use by this step", "name"},
		"rename to itself":     {"rename_database", map[string]any{"from": "a", "to": "a"}, "Same name", "to"},
		"bad format":           {"dump", map[string]any{"database": "x", "format": "tar"}, "Invalid format", "format"},
		"directory no dir":     {"dump", map[string]any{"database": "x", "format": "directory"}, "Missing dir", "dir"},
		"relative dir":         {"dump", map[string]any{"database": "x", "format": "directory", "dir": "out"}, "Relative dir", "dir"},
		"dir with custom":      {"dump", map[string]any{"database": "x", "dir": "/tmp/x"}, "dir without the directory format", "dir"},
		"jobs with custom":     {"dump", map[string]any{"database": "x", "jobs": 4}, "Parallel jobs need the directory format", "jobs"},
		"compress plain":       {"dump", map[string]any{"database": "x", "format": "plain", "compress": "5"}, "Compression of a plain dump", "compress"},
		"compress 12":          {"dump", map[string]any{"database": "x", "compress": "12"}, "Invalid compress", "compress"},
		"option owned":         {"dump", map[string]any{"database": "x", "options": []string{"--host=evil"}}, "Option set by the action", "options"},
		"short option owned":   {"restore", map[string]any{"database": "x", "options": []string{"-dother"}}, "Option set by the action", "options"},
		"no_owner plain":       {"restore", map[string]any{"database": "x", "format": "plain", "no_owner": true}, "no_owner with a plain dump", "no_owner"},
		"one transaction jobs": {"restore", map[string]any{"database": "x", "format": "directory", "dir": "/d", "jobs": 2, "single_transaction": true}, "One transaction with parallel jobs", "single_transaction"},
		"bad table":            {"migrate", map[string]any{"database": "x", "dir": "m", "table": "a.b.c"}, "Invalid table", "table"},
		"empty dir":            {"migrate", map[string]any{"database": "x", "dir": ""}, "Empty dir", "dir"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := localStep().run(t, tc.action, tc.args)
			if len(res.diags) == 0 {
				t.Fatalf("no diagnostics")
			}
			d := res.diags[0]
			if d.Summary != tc.want {
				t.Errorf("summary = %q (%s), want %q", d.Summary, d.Detail, tc.want)
			}
			if len(d.Path) == 0 || d.Path[0].(cty.GetAttrStep).Name != tc.path {
				t.Errorf("path = %#v, want %s", d.Path, tc.path)
			}
		})
	}
}

func TestReady(t *testing.T) {
	s := pgServer(t)
	res := localStep().run(t, "ready", s.args(nil)).ok(t)
	if v := res.str("server_version"); !strings.HasPrefix(v, "15.") || strings.Contains(v, " ") {
		t.Errorf("server_version = %q", v)
	}
	if n := res.num("server_version_num"); n < 150000 || n >= 160000 {
		t.Errorf("server_version_num = %d", n)
	}

	// Nothing listens there: waits out the timeout, then says why.
	res = localStep().run(t, "ready", s.args(map[string]any{"port": 1, "wait": "1s"}))
	res.failed(t, "was not ready after 1s", "127.0.0.1:1")

	// A server that refuses the password will not change its mind.
	res = localStep().run(t, "ready", s.args(map[string]any{"password": "h5-wrong-password-91", "wait": "30s"}))
	msg := res.failed(t, "password authentication failed")
	if strings.Contains(msg, "h5-wrong-password-91") {
		t.Errorf("the error shows the password: %s", msg)
	}
}

func TestQuery(t *testing.T) {
	s := pgServer(t)
	db := s.newDatabase(t, "")
	s.exec(t, db, `CREATE TABLE t (id int, price numeric, ok bool, note text, f float8);
		INSERT INTO t VALUES (1, 9.99, true, 'first', 1.5), (2, NULL, false, NULL, 'NaN'), (3, 100, NULL, 'it''s', -0.25)`)
	for _, grpc := range []bool{false, true} {
		st := &step{target: local.Target(), grpc: grpc}
		res := st.run(t, "query", s.args(map[string]any{
			"database": db, "sql": "SELECT id, price, ok, note, f FROM t WHERE id >= $1 ORDER BY id",
			"params": cty.TupleVal([]cty.Value{cty.NumberIntVal(1)}),
		})).ok(t)
		if res.num("row_count") != 3 {
			t.Errorf("row_count = %d", res.num("row_count"))
		}
		if got := res.strs("columns"); !cmp.Equal(got, []string{"id", "price", "ok", "note", "f"}) {
			t.Errorf("columns = %q", got)
		}
		rows := res.outputs.GetAttr("rows")
		first := rows.Index(cty.NumberIntVal(0))
		if !first.GetAttr("id").RawEquals(cty.NumberIntVal(1)) || !first.GetAttr("price").Equals(cty.MustParseNumberVal("9.99")).True() ||
			!first.GetAttr("ok").RawEquals(cty.True) || !first.GetAttr("note").RawEquals(cty.StringVal("first")) {
			t.Errorf("grpc=%v: first row = %#v", grpc, first)
		}
		second := rows.Index(cty.NumberIntVal(1))
		if !second.GetAttr("price").IsNull() || !second.GetAttr("note").IsNull() || !second.GetAttr("ok").RawEquals(cty.False) {
			t.Errorf("grpc=%v: second row = %#v", grpc, second)
		}
		// NaN is no HCL number: the column is text.
		if f := second.GetAttr("f"); !f.RawEquals(cty.StringVal("NaN")) {
			t.Errorf("grpc=%v: f = %#v", grpc, f)
		}
		if n := rows.Index(cty.NumberIntVal(2)).GetAttr("note"); !n.RawEquals(cty.StringVal("it's")) {
			t.Errorf("third note = %#v", n)
		}
	}

	// Text parameters, converted by the server; no rows is an empty list.
	res := localStep().run(t, "query", s.args(map[string]any{
		"database": db, "sql": "SELECT * FROM t WHERE note = $1 AND ok = $2",
		"params": cty.TupleVal([]cty.Value{cty.StringVal("nobody"), cty.True}),
	})).ok(t)
	if res.num("row_count") != 0 || res.outputs.GetAttr("rows").LengthInt() != 0 || len(res.strs("columns")) != 5 {
		t.Errorf("outputs = %#v", res.outputs)
	}

	// A statement that returns no rows counts those it affected.
	res = localStep().run(t, "query", s.args(map[string]any{"database": db, "sql": "UPDATE t SET ok = true WHERE id < 3"})).ok(t)
	if res.num("row_count") != 2 {
		t.Errorf("row_count of an UPDATE = %d", res.num("row_count"))
	}

	// More rows than max_rows: an error saying so.
	res = localStep().run(t, "query", s.args(map[string]any{"database": db, "sql": "SELECT generate_series(1, 100000)", "max_rows": 10}))
	res.failed(t, "more than max_rows (10) rows")

	// A server error points into the SQL.
	res = localStep().run(t, "query", s.args(map[string]any{"database": db, "sql": "SELECT id,\n  nosuch FROM t"}))
	res.failed(t, "sql:2:3:", `column "nosuch" does not exist`, "42703")
}

func TestExec(t *testing.T) {
	s := pgServer(t)
	db := s.newDatabase(t, "")
	res := localStep().run(t, "exec", s.args(map[string]any{"database": db, "sql": `
		CREATE TABLE t (id int PRIMARY KEY, note text DEFAULT 'a;b');
		INSERT INTO t (id) VALUES (1), (2), (3);
		-- a comment; with a semicolon
		UPDATE t SET note = $$x;y$$ WHERE id > 1;`})).ok(t)
	if res.num("rows_affected") != 5 {
		t.Errorf("rows_affected = %d, want 5 (3 inserted, 2 updated)", res.num("rows_affected"))
	}

	// One transaction: a failure undoes the statements before it.
	res = localStep().run(t, "exec", s.args(map[string]any{"database": db, "sql": "INSERT INTO t (id) VALUES (10);\nINSERT INTO t (id) VALUES (1);"}))
	res.failed(t, "duplicate key value", "23505")
	if n := s.scalar(t, db, "SELECT count(*)::text FROM t"); n != "3" {
		t.Errorf("after a failed transaction, %s rows, want 3", n)
	}

	// transaction = false: each statement on its own, and the error's
	// position is in the whole text.
	res = localStep().run(t, "exec", s.args(map[string]any{"database": db, "transaction": false,
		"sql": "INSERT INTO t (id) VALUES (20);\nVACUUM t;\nSELECT nosuch\n  FROM t;"}))
	res.failed(t, "sql:3:8:", `column "nosuch" does not exist`)
	if n := s.scalar(t, db, "SELECT count(*)::text FROM t"); n != "4" {
		t.Errorf("the statement before the failing one was not kept: %s rows, want 4", n)
	}
}

func TestDatabaseAdmin(t *testing.T) {
	s := pgServer(t)
	db, renamed := name(t, "a"), name(t, "b")
	s.dropLater(t, db)
	s.dropLater(t, renamed)

	res := localStep().run(t, "create_database", s.args(map[string]any{"name": db, "template": "template0"})).ok(t)
	if res.outputs.GetAttr("created") != cty.True {
		t.Errorf("created = %#v", res.outputs.GetAttr("created"))
	}
	localStep().run(t, "create_database", s.args(map[string]any{"name": db})).failed(t, "already exists")
	res = localStep().run(t, "create_database", s.args(map[string]any{"name": db, "if_not_exists": true})).ok(t)
	if res.outputs.GetAttr("created") != cty.False {
		t.Errorf("created = %#v for an existing database", res.outputs.GetAttr("created"))
	}

	// Sessions on it: terminate counts them, and this step's is not one.
	hold := func() {
		t.Helper()
		for range 2 {
			s.admin(t, db)
		}
	}
	hold()
	res = localStep().run(t, "terminate", s.args(map[string]any{"database": db})).ok(t)
	if res.num("terminated") != 2 {
		t.Errorf("terminated = %d, want 2", res.num("terminated"))
	}

	hold()
	localStep().run(t, "rename_database", s.args(map[string]any{"from": db, "to": renamed, "terminate": false})).failed(t, "being accessed by other users")
	res = localStep().run(t, "rename_database", s.args(map[string]any{"from": db, "to": renamed})).ok(t)
	if res.num("terminated") != 2 {
		t.Errorf("rename terminated %d sessions, want 2", res.num("terminated"))
	}
	if got := s.scalar(t, "postgres", "SELECT count(*)::text FROM pg_database WHERE datname = $1", renamed); got != "1" {
		t.Errorf("%s does not exist after the rename", renamed)
	}

	s.admin(t, renamed)
	res = localStep().run(t, "drop_database", s.args(map[string]any{"name": renamed})).ok(t)
	if res.outputs.GetAttr("dropped") != cty.True || res.num("terminated") != 1 {
		t.Errorf("outputs = %#v", res.outputs)
	}
	localStep().run(t, "drop_database", s.args(map[string]any{"name": renamed})).failed(t, "No such database")
	res = localStep().run(t, "drop_database", s.args(map[string]any{"name": renamed, "if_exists": true})).ok(t)
	if res.outputs.GetAttr("dropped") != cty.False {
		t.Errorf("dropped = %#v for a missing database", res.outputs.GetAttr("dropped"))
	}
}

func TestInfo(t *testing.T) {
	s := pgServer(t)
	db := s.newDatabase(t, "")
	// Two tables with the same rows, inserted in different orders.
	s.exec(t, db, `CREATE SCHEMA app;
		CREATE TABLE app.a (id int, v text); CREATE TABLE app.b (id int, v text); CREATE TABLE c (x int);
		INSERT INTO app.a SELECT i, md5(i::text) FROM generate_series(1, 1000) i;
		INSERT INTO app.b SELECT i, md5(i::text) FROM generate_series(1000, 1, -1) i;`)
	res := localStep().run(t, "info", s.args(nil)).ok(t)
	var found bool
	for it := res.outputs.GetAttr("databases").ElementIterator(); it.Next(); {
		_, d := it.Element()
		if d.GetAttr("name").AsString() == db {
			found = true
			if n, _ := d.GetAttr("size_bytes").AsBigFloat().Int64(); n < 1<<20 {
				t.Errorf("size of %s = %d", db, n)
			}
		}
	}
	if !found || res.outputs.GetAttr("tables").LengthInt() != 0 {
		t.Errorf("databases = %#v, tables = %#v", res.outputs.GetAttr("databases"), res.outputs.GetAttr("tables"))
	}
	sums := tableSums(t, s, db)
	if len(sums) != 3 || sums["app.a"] != sums["app.b"] || !strings.HasPrefix(sums["app.a"], "1000 1000:") || sums["public.c"] != "0 0:0" {
		t.Errorf("tables = %v", sums)
	}
	s.exec(t, db, "UPDATE app.b SET v = 'changed' WHERE id = 500")
	if after := tableSums(t, s, db); after["app.b"] == sums["app.b"] {
		t.Errorf("a changed row left the checksum as it was: %s", after["app.b"])
	}
	res = localStep().run(t, "info", s.args(map[string]any{"database": db, "checksums": false})).ok(t)
	if c := res.outputs.GetAttr("tables").Index(cty.NumberIntVal(0)).GetAttr("checksum").AsString(); c != "" {
		t.Errorf("checksum without checksums = %q", c)
	}
}

// TestConcurrentTerminate: sessions opening while a drop terminates them
// do not fail it.
func TestConcurrentTerminate(t *testing.T) {
	s := pgServer(t)
	db := s.newDatabase(t, "")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res := localStep().run(t, "query", s.args(map[string]any{"database": db, "sql": "SELECT pg_sleep(0.05)", "connect_timeout": "2s"}))
				_ = res
			}
		}()
	}
	res := localStep().run(t, "drop_database", s.args(map[string]any{"name": db}))
	close(stop)
	wg.Wait()
	res.ok(t)
}

// TestTerminateProtectedSession: a session the step's user may not
// terminate (a superuser's) is waited for: one that ends by itself (a
// client that was just closing) lets the step go on; one that stays fails
// it, named, instead of the server's bare "must be a superuser".
func TestTerminateProtectedSession(t *testing.T) {
	s := pgServer(t)
	old := terminateWait
	terminateWait = 2 * time.Second
	t.Cleanup(func() { terminateWait = old })
	password := "h5-protected-pw"
	role := s.newRole(t, password)
	db := s.newDatabase(t, "p")
	s.exec(t, "postgres", fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", quoteIdent(db), quoteIdent(role)))
	args := map[string]any{"host": s.host, "port": s.port, "user": role, "password": password, "database": db}

	held := s.admin(t, db) // a superuser's session that stays
	res := localStep().run(t, "terminate", args)
	msg := res.failed(t, "may not terminate it")
	if !strings.Contains(msg, fmt.Sprintf("pid %d", held.PgConn().PID())) {
		t.Errorf("the error does not name the session: %s", msg)
	}
	held.Close(context.Background())

	closing := s.admin(t, db) // one that ends while the step waits
	time.AfterFunc(500*time.Millisecond, func() { closing.Close(context.Background()) })
	if res := localStep().run(t, "terminate", args).ok(t); res.num("terminated") != 0 {
		t.Errorf("terminated = %d, want 0 (the session ended by itself)", res.num("terminated"))
	}
}
