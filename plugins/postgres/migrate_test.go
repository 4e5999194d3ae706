package postgres

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles writes name -> content into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrate(t *testing.T) {
	s := pgServer(t)
	db := s.newDatabase(t, "")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"001_init.sql":    "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO users (name) VALUES ('root');\n",
		"002_add_x.sql":   "-- emails; with a semicolon in a comment\nALTER TABLE users ADD COLUMN email text;\n",
		"README.md":       "not a migration",
		"010_indexes.sql": "CREATE INDEX users_email ON users (email);",
	})
	args := s.args(map[string]any{"database": db, "dir": dir})

	// The plan lists them all, before any ran (the table does not exist).
	plan, diags := localStep().plan(t, "migrate", args)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	want := []string{"apply migration 001_init.sql to database " + db, "apply migration 002_add_x.sql to database " + db, "apply migration 010_indexes.sql to database " + db}
	if !cmp.Equal(plan.Changes, want) {
		t.Errorf("plan = %q", plan.Changes)
	}

	// apply = false reports and changes nothing, not even the table.
	status := s.args(map[string]any{"database": db, "dir": dir, "apply": false})
	res := localStep().run(t, "migrate", status).ok(t)
	if len(res.strs("applied")) != 0 || res.num("level") != 0 || res.num("pending") != 3 {
		t.Errorf("apply = false: outputs = %#v", res.outputs)
	}
	if got := s.scalar(t, db, "SELECT coalesce(to_regclass('zrun_migrations')::text, 'none')"); got != "none" {
		t.Errorf("apply = false created %s", got)
	}

	res = localStep().run(t, "migrate", args).ok(t)
	if got := res.strs("applied"); !cmp.Equal(got, []string{"001_init.sql", "002_add_x.sql", "010_indexes.sql"}) || res.num("level") != 10 || res.num("pending") != 0 {
		t.Errorf("outputs = %#v", res.outputs)
	}
	if got := s.scalar(t, db, "SELECT string_agg(version || ' ' || name || ' ' || length(sha256), ', ' ORDER BY version) FROM zrun_migrations"); got != "1 001_init.sql 64, 2 002_add_x.sql 64, 10 010_indexes.sql 64" {
		t.Errorf("recorded %s", got)
	}

	if res := localStep().run(t, "migrate", status).ok(t); res.num("level") != 10 || res.num("pending") != 0 {
		t.Errorf("apply = false after: outputs = %#v", res.outputs)
	}

	// Again: nothing to apply, nothing planned.
	res = localStep().run(t, "migrate", args).ok(t)
	if len(res.strs("applied")) != 0 || res.num("level") != 10 || res.num("pending") != 0 {
		t.Errorf("a second run: outputs = %#v", res.outputs)
	}
	if n := s.scalar(t, db, "SELECT count(*)::text FROM users"); n != "1" {
		t.Errorf("001 ran twice: %s users", n)
	}
	if plan, _ := localStep().plan(t, "migrate", args); len(plan.Changes) != 0 {
		t.Errorf("plan after = %q", plan.Changes)
	}

	// A failing migration is rolled back whole, and says where it failed.
	writeFiles(t, dir, map[string]string{
		"011_ok.sql":  "CREATE TABLE audit (at timestamptz);",
		"012_bad.sql": "CREATE TABLE partial (id int);\nINSERT INTO partial VALUES (1);\nINSERT INTO users (nmae) VALUES ('x');\n",
	})
	res = localStep().run(t, "migrate", args)
	res.failed(t, "migration 012_bad.sql failed and was rolled back", filepath.Join(dir, "012_bad.sql")+":3:20:", `column "nmae" of relation "users" does not exist`)
	if got := s.scalar(t, db, "SELECT coalesce(to_regclass('partial')::text, 'none') || ' ' || coalesce(to_regclass('audit')::text, 'none')"); got != "none audit" {
		t.Errorf("tables partial, audit: %s (want 012's rolled back, 011's kept)", got)
	}
	if got := s.scalar(t, db, "SELECT max(version)::text FROM zrun_migrations"); got != "11" {
		t.Errorf("level after the failure = %s", got)
	}
	writeFiles(t, dir, map[string]string{"012_bad.sql": "CREATE TABLE partial (id int);\n"})
	res = localStep().run(t, "migrate", args).ok(t)
	if got := res.strs("applied"); !cmp.Equal(got, []string{"012_bad.sql"}) || res.num("level") != 12 {
		t.Errorf("after the fix: outputs = %#v", res.outputs)
	}

	// An applied file that changed is refused, by plan and run, before
	// the pending one after it runs.
	writeFiles(t, dir, map[string]string{
		"002_add_x.sql": "ALTER TABLE users ADD COLUMN email text; -- edited\n",
		"013_new.sql":   "CREATE TABLE newer (id int);",
	})
	_, diags = localStep().plan(t, "migrate", args)
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "002_add_x.sql (version 2) was edited after it was applied") {
		t.Errorf("plan of an edited migration: %v", err)
	}
	msg := localStep().run(t, "migrate", args).failed(t, "002_add_x.sql (version 2) was edited after it was applied", "its sha256 is now ", "the database recorded ")
	if strings.Count(msg, " ") < 10 {
		t.Errorf("message = %s", msg)
	}
	if got := s.scalar(t, db, "SELECT coalesce(to_regclass('newer')::text, 'none')"); got != "none" {
		t.Errorf("013 ran beside an edited 002")
	}
	writeFiles(t, dir, map[string]string{"002_add_x.sql": "-- emails; with a semicolon in a comment\nALTER TABLE users ADD COLUMN email text;\n"})

	// A new file numbered below the level is refused.
	writeFiles(t, dir, map[string]string{"005_late.sql": "SELECT 1;"})
	localStep().run(t, "migrate", args).failed(t, "005_late.sql (version 5) is numbered below version 12")
	os.Remove(filepath.Join(dir, "005_late.sql"))

	// Two files of one number are refused.
	writeFiles(t, dir, map[string]string{"13_other.sql": "SELECT 1;"})
	localStep().run(t, "migrate", args).failed(t, "Two migrations of one number", "013_new.sql and 13_other.sql are both version 13")
	os.Remove(filepath.Join(dir, "13_other.sql"))

	writeFiles(t, dir, map[string]string{"notnumbered.sql": "SELECT 1;"})
	localStep().run(t, "migrate", args).failed(t, "Migration without a number")
}

// TestMigrateConcurrent: two migrates at once apply each file once (the
// advisory lock), and the other finds nothing pending.
func TestMigrateConcurrent(t *testing.T) {
	s := pgServer(t)
	db := s.newDatabase(t, "")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"1_slow.sql":  "CREATE TABLE counter (n int); SELECT pg_sleep(0.5); INSERT INTO counter VALUES (1);",
		"2_again.sql": "INSERT INTO counter VALUES (2);",
	})
	args := s.args(map[string]any{"database": db, "dir": dir, "table": "public.schema_log"})
	var wg sync.WaitGroup
	results := make([]*result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = localStep().run(t, "migrate", args)
		}()
	}
	wg.Wait()
	total := 0
	for _, r := range results {
		total += len(r.ok(t).strs("applied"))
		if r.num("level") != 2 {
			t.Errorf("level = %d", r.num("level"))
		}
	}
	if total != 2 {
		t.Errorf("the two runs applied %d files, want 2", total)
	}
	if got := s.scalar(t, db, "SELECT string_agg(n::text, ',' ORDER BY n) FROM counter"); got != "1,2" {
		t.Errorf("counter = %s", got)
	}
}
