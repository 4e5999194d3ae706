package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"
)

// The shipped backup, restore and migrate workflows against a real
// PostgreSQL server: each test has a database of its own, owned by the
// dev environment's role (its password from testdata/stack/.env.dev), and
// a folder for its backups (the dev environment's local remote).

// dbRole is the dev environment's database user; dbRolePassword its
// password in testdata/stack/.env.dev.
const (
	dbRole         = "zakupai"
	dbRolePassword = "zakupai_dev_password"
)

type dbProject struct {
	dir     string
	db      string // the live database
	backups string // the remote's folder
	env     []string
	admin   *pgx.Conn // a superuser's, on the maintenance database
}

// newDBProject is the shipped project with an environment e2e (extending
// dev, with no containers: nothing to stop around a restore) whose
// database and backup folder are the test's own; extra is more HCL for
// environments/e2e.hcl (inside the environment block).
func newDBProject(t *testing.T, extra string) *dbProject {
	t.Helper()
	p := newDB(t, shippedProject(t))
	p.writeEnv(t, extra)
	return p
}

// newDB gives the project in dir a database of the test's own (created
// empty, owned by the dev role, dropped at the end with every database
// named after it) and a folder for backups, and sets the variables that
// point the dev environment at them.
func newDB(t *testing.T, dir string) *dbProject {
	t.Helper()
	dsn := testPostgres(t)
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to $ZRUN_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	// Tests run in parallel: the role is made once, whoever comes first.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
		CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s';
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`, dbRole, dbRolePassword)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(t.Name()))
	p := &dbProject{dir: dir, db: "e2e_" + hex.EncodeToString(sum[:6]), backups: t.TempDir(), admin: admin}
	p.dropAll(t)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+p.db+" OWNER "+dbRole); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.dropAll(t) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p.env = []string{"ZAKUPAI_DB_HOST=" + u.Hostname(), "ZAKUPAI_DB_PORT=" + cmpOr(u.Port(), "5432"), "ZAKUPAI_DB_NAME=" + p.db,
		"ZAKUPAI_DB_USER=" + dbRole, "ZAKUPAI_BACKUP_DIR=" + p.backups}
	return p
}

// writeEnv writes the environment e2e: dev's, with the test's stack
// prefix, every container left out (extends merges objects key by key, so
// each is disabled by name) and extra inside the block.
func (p *dbProject) writeEnv(t *testing.T, extra string) {
	t.Helper()
	var off strings.Builder
	for _, name := range []string{"gateway", "calc-service", "risk-engine", "doc-service", "billing-service", "bot", "web", "db"} {
		fmt.Fprintf(&off, "    %s = { enabled = false }\n", name)
	}
	writeFile(t, filepath.Join(p.dir, "environments", "e2e.hcl"), fmt.Sprintf(`environment "e2e" {
  extends    = "dev"
  stack      = { prefix = "e2e-%s-" }
  containers = {
%s  }
%s
}
`, p.db, off.String(), extra))
}

func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

// dropAll drops the test's databases: the live one and those a backup or
// restore made beside it.
func (p *dbProject) dropAll(t *testing.T) {
	for _, name := range p.databases(t) {
		if _, err := p.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	}
}

// databases lists the test's databases, by name.
func (p *dbProject) databases(t *testing.T) []string {
	rows, err := p.admin.Query(context.Background(), "SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $1 || '\\_%' ORDER BY 1", p.db)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func (p *dbProject) zrun(t *testing.T, args ...string) result {
	t.Helper()
	return zrun(t, p.dir, p.env, args...)
}

// conn connects to one of the test's databases as the superuser; the
// caller closes it (a session left open would hold the database, as a
// service's does, and the role a restore runs as cannot end a superuser's).
func (p *dbProject) conn(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	cfg := p.admin.Config().Copy()
	cfg.Database = db
	c, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exec runs SQL in db as its owner would (the tables stay the role's).
func (p *dbProject) exec(t *testing.T, db, sql string) {
	t.Helper()
	c := p.conn(t, db)
	defer c.Close(context.Background())
	if _, err := c.Exec(t.Context(), "SET ROLE "+dbRole+"; "+sql); err != nil {
		t.Fatalf("%s: %v", db, err)
	}
}

// sums is every table of db with its row count and an order-independent
// digest of its rows: two databases holding the same rows have the same.
func (p *dbProject) sums(t *testing.T, db string) map[string]string {
	t.Helper()
	c := p.conn(t, db)
	defer c.Close(context.Background())
	rows, err := c.Query(t.Context(), "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tbl := range tables {
		var sum string
		q := fmt.Sprintf("SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0) FROM %s t", tbl)
		if err := c.QueryRow(t.Context(), q).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		out[tbl] = sum
	}
	return out
}

// seed migrates the database and loads the example stack's sample data.
func (p *dbProject) seed(t *testing.T) {
	t.Helper()
	wantCode(t, p.zrun(t, "workflow", "migrate", "--env", "e2e"), 0)
	p.loadSeed(t)
}

// loadSeed loads the example stack's sample data into the migrated
// database.
func (p *dbProject) loadSeed(t *testing.T) {
	t.Helper()
	seed, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "stack", "db", "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	p.exec(t, p.db, string(seed))
}

// stored lists the backup folder: the objects, and the manifests.
func (p *dbProject) stored(t *testing.T) (objects, manifests []string) {
	t.Helper()
	entries, err := os.ReadDir(p.backups)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), "."): // an upload's temporary file
		case strings.HasSuffix(e.Name(), ".manifest.json"):
			manifests = append(manifests, e.Name())
		default:
			objects = append(objects, e.Name())
		}
	}
	return objects, manifests
}

// wantNoBackup checks that what a failed backup left cannot pass for one:
// no manifest, and a restore finds nothing to restore.
func (p *dbProject) wantNoBackup(t *testing.T, why string) {
	t.Helper()
	objects, manifests := p.stored(t)
	if len(manifests) > 0 {
		t.Errorf("%s: a manifest was written (a false success): %v", why, manifests)
	}
	if len(objects) > 0 {
		t.Errorf("%s: the object was left: %v", why, objects)
	}
	r := p.zrun(t, "workflow", "restore", "--env", "e2e", "--param", "swap=false")
	if r.code == 0 {
		t.Errorf("%s: a restore found a backup to restore:\n%s", why, r)
	}
	wantContains(t, "restore", oneLine(r.stdout+r.stderr), "No backup of "+p.db)
}

type manifest struct {
	Version       int      `json:"version"`
	Object        string   `json:"object"`
	Format        string   `json:"format"`
	Compression   string   `json:"compression"`
	Encryption    string   `json:"encryption"`
	Recipients    []string `json:"recipients"`
	Bytes         int64    `json:"bytes"`
	SHA256        string   `json:"sha256"`
	Database      string   `json:"database"`
	ServerVersion string   `json:"server_version"`
	RunID         string   `json:"run_id"`
	Drilled       bool     `json:"drilled"`
	Tables        int      `json:"tables"`
}

func (p *dbProject) manifest(t *testing.T, name string) manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.backups, name))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
	return m
}

// TestMigrateWorkflow: the guide's db-migrate, each file once.
func TestMigrateWorkflow(t *testing.T) {
	t.Parallel()
	p := newDBProject(t, "")
	plan := p.zrun(t, "plan", "migrate", "--env", "e2e")
	wantCode(t, plan, 0)
	wantContains(t, "plan", plan.stdout, "apply migration 001_schema.sql", "apply migration 003_indexes.sql")
	r := p.zrun(t, "workflow", "migrate", "--env", "e2e", "--output", "json")
	wantCode(t, r, 0)
	wantContains(t, "outputs", r.stdout, `"level":3`, `"applied":["001_schema.sql","002_schema_v2.sql","003_indexes.sql"]`)
	r = p.zrun(t, "workflow", "migrate", "--env", "e2e", "--output", "json")
	wantCode(t, r, 0)
	wantContains(t, "outputs", r.stdout, `"level":3`, `"applied":[]`)
}

// TestBackupRestore: a backup (streamed, encrypted, read back, drilled,
// with its manifest), then a restore beside the live database and the
// swap: every table back as it was at the backup, the replaced database
// kept.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var notes []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		notes = append(notes, body.Text)
		mu.Unlock()
	}))
	defer hook.Close()
	p := newDBProject(t, "")
	p.env = append(p.env, "ZAKUPAI_BACKUP_WEBHOOK="+hook.URL)
	p.seed(t)
	before := p.sums(t, p.db)
	if len(before) < 6 {
		t.Fatalf("the seeded database has %d tables: %v", len(before), before)
	}

	r := p.zrun(t, "workflow", "backup", "--env", "e2e")
	wantCode(t, r, 0)
	objects, manifests := p.stored(t)
	if len(objects) != 1 || len(manifests) != 1 || manifests[0] != objects[0]+".manifest.json" {
		t.Fatalf("stored %v and %v; want one backup and its manifest", objects, manifests)
	}
	if !regexp.MustCompile(`^` + p.db + `_[0-9]{8}T[0-9]{6}Z\.dump\.zst\.age$`).MatchString(objects[0]) {
		t.Errorf("backup named %s", objects[0])
	}
	data, err := os.ReadFile(filepath.Join(p.backups, objects[0]))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	m := p.manifest(t, manifests[0])
	if m.Version != 1 || m.Object != filepath.Join(p.backups, objects[0]) || m.SHA256 != hex.EncodeToString(sum[:]) || m.Bytes != int64(len(data)) ||
		m.Format != "custom" || m.Compression != "zstd" || m.Encryption != "age" || len(m.Recipients) != 1 || m.Database != p.db ||
		!m.Drilled || m.Tables != len(before) || m.RunID == "" || !strings.HasPrefix(m.ServerVersion, "15") {
		t.Errorf("manifest %+v; the object is %d bytes, sha256 %x; %d tables", m, len(data), sum, len(before))
	}
	if !strings.HasPrefix(string(data), "age-encryption.org/v1\n") || strings.Contains(string(data), "tenders") {
		t.Errorf("the stored backup is not encrypted with age: %q...", data[:min(len(data), 64)])
	}
	if dbs := p.databases(t); !slices.Equal(dbs, []string{p.db}) {
		t.Errorf("databases after the backup: %v; the drill's scratch database should be gone", dbs)
	}
	mu.Lock()
	if len(notes) != 1 || !strings.Contains(notes[0], objects[0]) {
		t.Errorf("webhook got %q", notes)
	}
	mu.Unlock()

	// The live database moves on; the restore puts it back as it was.
	p.exec(t, p.db, "INSERT INTO users (email) VALUES ('after-the-backup@example.com'); DELETE FROM payments WHERE id < 100")
	changed := p.sums(t, p.db)
	r = p.zrun(t, "workflow", "restore", "--env", "e2e")
	wantCode(t, r, 0)
	if after := p.sums(t, p.db); !mapsEqual(after, before) {
		t.Errorf("after the restore:\n%v\nat the backup:\n%v", after, before)
	}
	dbs := p.databases(t)
	if len(dbs) != 2 || !strings.HasPrefix(dbs[1], p.db+"_pre_restore_") {
		t.Fatalf("databases after the restore: %v; want the live one and the one it replaced", dbs)
	}
	if kept := p.sums(t, dbs[1]); !mapsEqual(kept, changed) {
		t.Errorf("the replaced database %s is not the live one as it was: %v", dbs[1], kept)
	}

	// A day with no backup, and a malformed choice, restore nothing.
	r = p.zrun(t, "workflow", "restore", "--env", "e2e", "--param", "backup=1999-01-01")
	if r.code == 0 {
		t.Fatalf("a restore of a day with no backup succeeded:\n%s", r)
	}
	wantContains(t, "restore", oneLine(r.stdout+r.stderr), `No backup of `+p.db+` matches "1999-01-01"`)
	r = p.zrun(t, "workflow", "restore", "--env", "e2e", "--param", "backup=yesterday")
	wantContains(t, "restore", oneLine(r.stdout+r.stderr), `not "yesterday"`)
}

// TestRestoreRefusesDamage: a byte flipped in the stored backup, a
// manifest that lies, a wrong key: each restore fails before the live
// database is touched, and leaves no database behind.
func TestRestoreRefusesDamage(t *testing.T) {
	t.Parallel()
	p := newDBProject(t, "")
	p.seed(t)
	wantCode(t, p.zrun(t, "workflow", "backup", "--env", "e2e", "--param", "drill=false"), 0)
	objects, manifests := p.stored(t)
	if len(objects) != 1 {
		t.Fatalf("stored %v", objects)
	}
	live := p.sums(t, p.db)
	obj := filepath.Join(p.backups, objects[0])
	good, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	restore := func(why string, wants ...string) {
		t.Helper()
		r := p.zrun(t, "workflow", "restore", "--env", "e2e")
		if r.code == 0 {
			t.Errorf("%s: the restore succeeded (a false success):\n%s", why, r)
		}
		wantContains(t, why, oneLine(r.stdout+r.stderr), wants...)
		if now := p.sums(t, p.db); !mapsEqual(now, live) {
			t.Errorf("%s: the live database changed", why)
		}
		if dbs := p.databases(t); !slices.Equal(dbs, []string{p.db}) {
			t.Errorf("%s: databases left: %v", why, dbs)
		}
	}

	flipped := slices.Clone(good)
	flipped[len(flipped)/2] ^= 0x10
	os.WriteFile(obj, flipped, 0o644)
	restore("a flipped byte", "has SHA-256", "the stored object is damaged")

	os.WriteFile(obj, good[:len(good)-100], 0o644)
	restore("a cut object", "step.verify")

	os.WriteFile(obj, good, 0o644)
	mpath := filepath.Join(p.backups, manifests[0])
	mdata, _ := os.ReadFile(mpath)
	os.WriteFile(mpath, []byte(strings.Replace(string(mdata), `"database":"`+p.db+`"`, `"database":"other"`, 1)), 0o644)
	restore("a manifest of another database", "is not a manifest of a backup of "+p.db)
	os.WriteFile(mpath, mdata, 0o644)

	key, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.agekey")
	os.WriteFile(other, []byte(key.String()+"\n"), 0o600)
	wrongKey := newDBProjectLike(t, p, fmt.Sprintf("  secret \"backup_identity\" {\n    file = %q\n  }", other))
	r := wrongKey.zrun(t, "workflow", "restore", "--env", "e2e")
	if r.code == 0 {
		t.Errorf("a restore with the wrong key succeeded:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, key.String()) || strings.Contains(r.stdout+r.stderr, key.String()[20:40]) {
		t.Errorf("the key shows in the output:\n%s", r)
	}
	if dbs := p.databases(t); !slices.Equal(dbs, []string{p.db}) {
		t.Errorf("a wrong key: databases left: %v", dbs)
	}
}

// newDBProjectLike is p's project and database with another e2e
// environment (extra inside its block).
func newDBProjectLike(t *testing.T, p *dbProject, extra string) *dbProject {
	t.Helper()
	q := *p
	q.writeEnv(t, extra)
	return &q
}

// TestBackupFaults: a backup that fails in any of these ways ends as a
// failed run with nothing that looks like a good backup (0 false
// successes): its drill fails; pg_dump is killed halfway; zrun is killed
// with SIGKILL during the upload; the remote's disk is full; and a second
// backup while one runs is refused by the lock.
func TestBackupFaults(t *testing.T) {
	t.Parallel()
	t.Run("drill fails", func(t *testing.T) {
		t.Parallel()
		p := newDBProject(t, "  backup = { drill = { tables = { no_such_table = 1 } } }")
		p.seed(t)
		r := p.zrun(t, "workflow", "backup", "--env", "e2e")
		if r.code == 0 {
			t.Fatalf("a backup whose drill failed succeeded:\n%s", r)
		}
		wantContains(t, "backup", oneLine(r.stdout+r.stderr), "Postcondition failed", "no_such_table")
		p.wantNoBackup(t, "a failed drill")
	})
	t.Run("pg_dump killed", func(t *testing.T) {
		t.Parallel()
		p := newDBProject(t, "")
		p.seed(t)
		p.bulk(t)
		cmd := p.start(t, "workflow", "backup", "--env", "e2e")
		if !waitFor(20*time.Second, func() bool { return killMatching("pg_dump", p.db) }) {
			t.Fatal("pg_dump never ran")
		}
		wantFailed(t, cmd, "pg_dump")
		p.wantNoBackup(t, "pg_dump killed")
	})
	t.Run("zrun killed mid-upload", func(t *testing.T) {
		t.Parallel()
		p := newDBProject(t, "")
		p.seed(t)
		p.bulk(t)
		cmd := p.start(t, "workflow", "backup", "--env", "e2e")
		if !waitFor(20*time.Second, func() bool {
			entries, _ := os.ReadDir(p.backups)
			return len(entries) > 0
		}) {
			t.Fatal("the upload never started")
		}
		syscall.Kill(-cmd.cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		_, manifests := p.stored(t)
		if len(manifests) > 0 {
			t.Errorf("a manifest after zrun was killed mid-upload: %v", manifests)
		}
		r := p.zrun(t, "workflow", "restore", "--env", "e2e", "--param", "swap=false")
		if r.code == 0 {
			t.Errorf("a restore found a backup after zrun was killed mid-upload:\n%s", r)
		}
	})
	t.Run("disk full", func(t *testing.T) {
		t.Parallel()
		p := newDBProject(t, "")
		if out, err := runCommand("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", p.backups); err != nil {
			msg := "cannot mount a 1 MiB tmpfs (needs root): " + out
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		t.Cleanup(func() { runCommand("umount", p.backups) })
		p.seed(t)
		p.bulk(t)
		r := p.zrun(t, "workflow", "backup", "--env", "e2e")
		if r.code == 0 {
			t.Fatalf("a backup onto a full disk succeeded:\n%s", r)
		}
		wantContains(t, "backup", oneLine(r.stdout+r.stderr), "no space left on device")
		p.wantNoBackup(t, "a full disk")
	})
	t.Run("two at once", func(t *testing.T) {
		t.Parallel()
		// The first backup's notification waits until the second has been
		// refused, so the two overlap whatever the machine's speed.
		release := make(chan struct{})
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer hook.Close()
		p := newDBProject(t, "")
		p.seed(t)
		p.env = append(p.env, "ZAKUPAI_BACKUP_WEBHOOK="+hook.URL)
		first := p.start(t, "workflow", "backup", "--env", "e2e")
		if !waitFor(60*time.Second, func() bool { _, m := p.stored(t); return len(m) > 0 }) {
			close(release)
			t.Fatal("the first backup never wrote its manifest")
		}
		r := p.zrun(t, "workflow", "backup", "--env", "e2e")
		close(release)
		wantCode(t, r, 6)
		wantContains(t, "second backup", r.stderr, "locked by run")
		if err := first.Wait(); err != nil {
			t.Errorf("the first backup: %v", err)
		}
		if _, m := p.stored(t); len(m) != 1 {
			t.Errorf("manifests %v; want the first backup's only", m)
		}
	})
}

// bulk adds a table of about 30 MB that compresses poorly, so that a dump
// takes long enough to be interrupted.
func (p *dbProject) bulk(t *testing.T) {
	t.Helper()
	p.exec(t, p.db, "CREATE TABLE bulk AS SELECT g AS id, string_agg(md5(random()::text || g), '') AS body FROM generate_series(1, 60000) g, generate_series(1, 16) r GROUP BY g")
}

// start starts zrun in the project in a process group of its own.
func (p *dbProject) start(t *testing.T, args ...string) *startedZrun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	cmd := zrunCommand(ctx, p.dir, p.env, append([]string{"-C", p.dir}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &startedZrun{cmd: cmd, out: out, cancel: cancel}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); s.Wait() })
	return s
}

// startedZrun is a zrun started in the background.
type startedZrun struct {
	cmd    *exec.Cmd
	out    *strings.Builder
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func (s *startedZrun) Wait() error {
	s.once.Do(func() { s.err = s.cmd.Wait(); s.cancel() })
	return s.err
}

// wantFailed waits for a zrun started in the background and wants its
// run to have failed (exit 4), saying wants.
func wantFailed(t *testing.T, s *startedZrun, wants ...string) {
	t.Helper()
	s.Wait()
	if code := s.cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("exit code %d, want 4 (a step failed):\n%s", code, s.out)
	}
	wantContains(t, "output", oneLine(s.out.String()), wants...)
}

// killMatching kills (SIGKILL) the processes named name whose command line
// holds arg, and says whether there was one.
func killMatching(name, arg string) bool {
	killed := false
	for _, pr := range procs() {
		if f := strings.Fields(pr.cmdline); len(f) > 0 && filepath.Base(f[0]) == name && strings.Contains(pr.cmdline, arg) {
			killed = syscall.Kill(pr.pid, syscall.SIGKILL) == nil || killed
		}
	}
	return killed
}

func runCommand(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// TestDeployMigrates: an environment that migrates on deploy backs the
// database up and applies the pending migrations before the new
// containers start; each release records the level it left, and a
// rollback to a release older than the database's schema is refused
// (before anything stops) unless the operator allows it.
func TestDeployMigrates(t *testing.T) {
	t.Parallel()
	s := newStackProject(t, `
environment "e2e-db" {
  extends = "e2e"
  db      = { migrate_on_deploy = true }
}
`)
	db := newDB(t, s.dir)
	s.env = append(s.env, db.env...)
	deploy := func(version string) result {
		t.Helper()
		return s.zrun(t, "workflow", "deploy", "--env", "e2e-db", "--param", "version="+version)
	}
	r := deploy("1.0.0")
	wantCode(t, r, 0)
	if objects, manifests := db.stored(t); len(objects) != 1 || len(manifests) != 1 {
		t.Errorf("the deploy that migrated left %v, %v; want one backup taken before the migrations", objects, manifests)
	}
	rel := s.zrun(t, "releases", "--env", "e2e-db")
	wantContains(t, "releases", rel.stdout, "migrations 3")
	db.loadSeed(t)

	// 1.1.0 brings a migration; 1.2.0 none (no backup taken then).
	writeFile(t, filepath.Join(s.dir, "testdata", "stack", "db", "migrations", "004_notes.sql"), "CREATE TABLE notes (id bigserial PRIMARY KEY, body text);\n")
	wantCode(t, deploy("1.1.0"), 0)
	wantCode(t, deploy("1.2.0"), 0)
	if objects, _ := db.stored(t); len(objects) != 2 {
		t.Errorf("backups %v; want two: one per deploy that migrated", objects)
	}
	wantContains(t, "releases", s.zrun(t, "releases", "--env", "e2e-db").stdout, "migrations 4")

	// Back to 1.1.0 (level 4, as the database): fine. Back again to
	// 1.0.0 (level 3): refused, nothing stopped.
	wantCode(t, s.zrun(t, "workflow", "rollback", "--env", "e2e-db"), 0)
	s.wantVersions(t, "1.1.0")
	before := s.ids(t)
	r = s.zrun(t, "workflow", "rollback", "--env", "e2e-db")
	wantCode(t, r, 4)
	wantContains(t, "rollback", oneLine(r.stdout+r.stderr), "The database is at migration 4", "allow_database_ahead=true")
	if after := s.ids(t); !mapsEqual(before, after) {
		t.Errorf("a refused rollback changed containers:\nbefore %v\nafter  %v", before, after)
	}
	s.wantVersions(t, "1.1.0")
	wantCode(t, s.zrun(t, "workflow", "rollback", "--env", "e2e-db", "--param", "allow_database_ahead=true"), 0)
	s.wantVersions(t, "1.0.0")

	// A restore with the stack running: its services are stopped around
	// the swap, started again and health-checked.
	wantCode(t, s.zrun(t, "workflow", "backup", "--env", "e2e-db", "--param", "drill=false"), 0)
	before = s.ids(t)
	r = s.zrun(t, "workflow", "restore", "--env", "e2e-db")
	wantCode(t, r, 0)
	for _, step := range []string{`step.stop["gateway"] ok`, `step.start["gateway"] ok`, "step.health ok", "step.swap ok"} {
		wantContains(t, "restore", r.stdout, step)
	}
	if after := s.ids(t); !mapsEqual(before, after) {
		t.Errorf("the restore replaced containers (it should stop and start the same ones):\nbefore %v\nafter  %v", before, after)
	}
	s.wantVersions(t, "1.0.0")
	if dbs := db.databases(t); len(dbs) != 2 || !strings.HasPrefix(dbs[1], db.db+"_pre_restore_") {
		t.Errorf("databases after the restore: %v", dbs)
	}
}

// TestRestoreSwapsBack: a restore whose services fail their health check
// after the swap puts the database it replaced back under its name (the
// restored one steps aside, kept), and starts the services again: the live
// data is what it was before the restore.
func TestRestoreSwapsBack(t *testing.T) {
	t.Parallel()
	s := newStackProject(t, `
# The gateway's health check looks where nothing answers: every restore
# in this environment fails after its swap.
environment "e2e-unhealthy" {
  extends  = "e2e"
  services = { gateway = { url = "http://127.0.0.1:1" } }
}
`)
	db := newDB(t, s.dir)
	s.env = append(s.env, db.env...)
	wantCode(t, s.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1.0.0"), 0)
	wantCode(t, s.zrun(t, "workflow", "migrate", "--env", "e2e"), 0)
	db.loadSeed(t)
	wantCode(t, s.zrun(t, "workflow", "backup", "--env", "e2e", "--param", "drill=false"), 0)
	// Data written after the backup: the restore would lose it, the
	// swap-back must keep it.
	db.exec(t, db.db, "DELETE FROM payments WHERE id < 100")
	want := db.sums(t, db.db)
	before := s.ids(t)

	r := s.zrun(t, "workflow", "restore", "--env", "e2e-unhealthy")
	wantCode(t, r, exitRunFailed)
	for _, step := range []string{"step.swap ok", "step.health failed", "step.unswap ok", "step.unretire ok", `step.restart["gateway"] ok`} {
		wantContains(t, "restore", r.stdout, step)
	}
	if got := db.sums(t, db.db); !mapsEqual(got, want) {
		t.Errorf("the live database after the swap-back:\n%v\nwant what it held before the restore:\n%v", got, want)
	}
	dbs := db.databases(t)
	if len(dbs) != 2 || !strings.HasPrefix(dbs[1], db.db+"_failed_restore_") {
		t.Errorf("databases after the swap-back: %v; want the live one and the restored one kept aside", dbs)
	}
	if after := s.ids(t); !mapsEqual(before, after) {
		t.Errorf("the containers after the swap-back:\nbefore %v\nafter  %v", before, after)
	}
	s.wantVersions(t, "1.0.0")
}
