package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// defaultMigrationsTable records the applied migrations.
const defaultMigrationsTable = "zrun_migrations"

// defaultLockTimeout bounds the wait for another migrate's lock.
const defaultLockTimeout = 5 * time.Minute

type migrateArgs struct {
	connArgs
	Database    string  `zrun:"database" help:"The database to migrate."`
	Dir         string  `zrun:"dir" help:"The local folder of migrations, relative to the folder zrun runs in: files named NUMBER_NAME.sql (\"001_init.sql\", \"002_add_email.sql\"), applied in the order of their numbers. Other files are ignored."`
	Table       *string `zrun:"table" help:"The table that records the applied migrations (version, name, sha256, applied_at), created when missing; \"schema.table\" to put it in a schema. Default: \"zrun_migrations\"."`
	LockTimeout *string `zrun:"lock_timeout" help:"How long to wait for another migrate of the same database and table to finish (they take an advisory lock). Default: \"5m\"."`
	Apply       *bool   `zrun:"apply" help:"false: apply nothing and create nothing, only report the database's level and how many files are pending (an edited applied file is still refused): what a rollback or a deploy checks first. Default: true."`
}

type migrateOutputs struct {
	Applied []string `zrun:"applied" help:"The files applied by this run, in order (empty when none was pending)."`
	Level   int64    `zrun:"level" help:"The highest applied version number (0 when none is)."`
	Pending int      `zrun:"pending" help:"How many files are still pending: 0 after a success."`
}

func newMigrate() sdk.Action {
	return sdk.NewAction("migrate",
		"Apply a folder's numbered SQL migrations that the database has not had, in order, each once and in its own transaction, recording each with its sha256. An applied file that was edited since is refused before anything runs; a failing one is rolled back and reported at its file:line:col.",
		runMigrate, sdk.WithValidate(validateMigrate), sdk.WithPlan(planMigrate))
}

func validateMigrate(_ context.Context, a migrateArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	diags = append(diags, a.validate(known)...)
	diags = append(diags, validateName("database", a.Database, known)...)
	if known.Has("dir") && a.Dir == "" {
		diags = diags.Errorf(cty.GetAttrPath("dir"), "Empty dir", `"dir" is the local folder of the migrations, e.g. "migrations".`)
	}
	if known.Has("table") && a.Table != nil {
		if _, err := tableIdent(*a.Table); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("table"), "Invalid table", err.Error())
		}
	}
	if known.Has("lock_timeout") {
		diags = append(diags, validateDuration("lock_timeout", a.LockTimeout)...)
	}
	return diags
}

func (a migrateArgs) table() pgx.Identifier {
	if a.Table == nil {
		return pgx.Identifier{defaultMigrationsTable}
	}
	id, _ := tableIdent(*a.Table)
	return id
}

// tableIdent parses "table" or "schema.table".
func tableIdent(s string) (pgx.Identifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("table is \"name\" or \"schema.name\"; got %q", s)
	}
	for _, p := range parts {
		if p == "" || len(p) > 63 {
			return nil, fmt.Errorf("table is \"name\" or \"schema.name\", each part 1 to 63 bytes; got %q", s)
		}
	}
	return pgx.Identifier(parts), nil
}

// migration is one file of the folder.
type migration struct {
	Version int64
	Name    string // the file's name
	Path    string
	SQL     string
	Sum     string // hex sha256 of the file's bytes
}

// migrationFile is a migration's name: its number, "_", a name, ".sql".
var migrationFile = regexp.MustCompile(`^([0-9]+)_[^/]*\.sql$`)

// readMigrations reads the folder's migrations, sorted by version, and
// refuses two files of one version and .sql files without a number.
func readMigrations(dir string) ([]migration, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &sdk.ArgError{Path: cty.GetAttrPath("dir"), Summary: "Cannot read the migrations", Detail: err.Error() + "."}
	}
	var list []migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, &sdk.ArgError{Path: cty.GetAttrPath("dir"), Summary: "Migration without a number",
				Detail: fmt.Sprintf("%s is not named NUMBER_NAME.sql (\"003_add_index.sql\"): rename it, or move it out of %s.", filepath.Join(dir, e.Name()), dir)}
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return nil, &sdk.ArgError{Path: cty.GetAttrPath("dir"), Summary: "Migration number too large", Detail: fmt.Sprintf("%s: %v.", e.Name(), err)}
		}
		if other, dup := seen[v]; dup {
			return nil, &sdk.ArgError{Path: cty.GetAttrPath("dir"), Summary: "Two migrations of one number",
				Detail: fmt.Sprintf("%s and %s are both version %d: every migration needs a number of its own; renumber the newer one.", other, e.Name(), v)}
		}
		seen[v] = e.Name()
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		list = append(list, migration{Version: v, Name: e.Name(), Path: path, SQL: string(data), Sum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	return list, nil
}

// applied is a migration the table records.
type applied struct {
	Version int64
	Name    string
	Sum     string
}

// migrationSet is the folder's migrations compared with the database's
// record of them.
type migrationSet struct {
	files   []migration
	applied map[int64]applied
	level   int64
}

// pending checks the record against the files and returns those to apply:
// an applied file whose content changed, or a new file numbered below the
// level reached, is refused.
func (s *migrationSet) pending() ([]migration, error) {
	var out []migration
	for _, f := range s.files {
		rec, done := s.applied[f.Version]
		switch {
		case done && rec.Sum != f.Sum:
			return nil, fmt.Errorf("migration %s (version %d) was edited after it was applied as %s: its sha256 is now %s, the database recorded %s. "+
				"Put the file back as it was, and make the change in a new migration", f.Path, f.Version, rec.Name, f.Sum, rec.Sum)
		case done:
		case f.Version < s.level:
			return nil, fmt.Errorf("migration %s (version %d) is numbered below version %d, which is applied already: renumber it above %d", f.Path, f.Version, s.level, s.level)
		default:
			out = append(out, f)
		}
	}
	return out, nil
}

// missing lists the applied migrations that have no file.
func (s *migrationSet) missing() []string {
	have := map[int64]bool{}
	for _, f := range s.files {
		have[f.Version] = true
	}
	var out []string
	for v, rec := range s.applied {
		if !have[v] {
			out = append(out, rec.Name)
		}
	}
	sort.Strings(out)
	return out
}

// readApplied reads the record, or none when the table does not exist.
func readApplied(ctx context.Context, conn *pgx.Conn, table pgx.Identifier) (map[int64]applied, int64, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table.Sanitize()).Scan(&exists); err != nil {
		return nil, 0, fmt.Errorf("look for the table %s: %w", table.Sanitize(), err)
	}
	out := map[int64]applied{}
	var level int64
	if !exists {
		return out, 0, nil
	}
	rows, err := conn.Query(ctx, "SELECT version, name, sha256 FROM "+table.Sanitize()+" ORDER BY version")
	if err == nil {
		var list []applied
		list, err = pgx.CollectRows(rows, pgx.RowToStructByPos[applied])
		for _, a := range list {
			out[a.Version] = a
			level = max(level, a.Version)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read the applied migrations from %s: %w", table.Sanitize(), err)
	}
	return out, level, nil
}

func planMigrate(ctx context.Context, a migrateArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if known.Has("apply") && a.Apply != nil && !*a.Apply {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("read the migration level of database %s (apply = false)", knownOr(known, "database", a.Database))}, NoOp: true}, nil
	}
	if !known.All() || target == nil {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("apply the pending migrations of %s to database %s",
			knownOr(known, "dir", a.Dir), knownOr(known, "database", a.Database))}}, nil
	}
	files, err := readMigrations(a.Dir)
	if err != nil {
		return nil, err
	}
	conn, err := a.connectTarget(ctx, target, a.Database)
	if err != nil {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("apply the migrations of %s that database %s has not had (%d files; which are applied could not be read: %v)",
			a.Dir, a.Database, len(files), err)}}, nil
	}
	defer closeConn(ctx, conn)
	set := &migrationSet{files: files}
	if set.applied, set.level, err = readApplied(ctx, conn, a.table()); err != nil {
		return nil, a.redact(err)
	}
	todo, err := set.pending()
	if err != nil {
		return nil, err
	}
	if len(todo) == 0 {
		return &sdk.PlanResponse{}, nil
	}
	var changes []string
	for _, m := range todo {
		changes = append(changes, fmt.Sprintf("apply migration %s to database %s", m.Name, a.Database))
	}
	return &sdk.PlanResponse{Changes: changes}, nil
}

func runMigrate(ctx context.Context, a migrateArgs, ui sdk.UI) (migrateOutputs, error) {
	out := migrateOutputs{Applied: []string{}}
	files, err := readMigrations(a.Dir)
	if err != nil {
		return out, err
	}
	conn, err := a.connect(ctx, ui, a.Database)
	if err != nil {
		return out, err
	}
	defer closeConn(ctx, conn)
	unlock, err := a.lock(ctx, conn, ui)
	if err != nil {
		return out, a.redact(err)
	}
	defer unlock()
	table := a.table().Sanitize()
	if a.Apply != nil && !*a.Apply {
		return a.status(ctx, conn, files, ui)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+` (
		version bigint PRIMARY KEY,
		name text NOT NULL,
		sha256 text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return out, a.redact(fmt.Errorf("create the table %s: %w", table, err))
	}
	set := &migrationSet{files: files}
	if set.applied, set.level, err = readApplied(ctx, conn, a.table()); err != nil {
		return out, a.redact(err)
	}
	out.Level = set.level
	if gone := set.missing(); len(gone) > 0 {
		ui.Logf("applied migrations without a file in %s (kept as applied): %s", a.Dir, strings.Join(gone, ", "))
	}
	todo, err := set.pending()
	if err != nil {
		return out, err
	}
	out.Pending = len(todo)
	for i, m := range todo {
		ui.Progress(int64(i), int64(len(todo)), "applying "+m.Name)
		start := time.Now()
		if err := applyMigration(ctx, conn, table, m); err != nil {
			return out, a.redact(err)
		}
		ui.Logf("applied %s in %s", m.Name, time.Since(start).Round(time.Millisecond))
		out.Applied = append(out.Applied, m.Name)
		out.Level, out.Pending = m.Version, out.Pending-1
	}
	if len(todo) > 0 {
		ui.Progress(int64(len(todo)), int64(len(todo)), "migrated")
	}
	return out, nil
}

// status is migrate with apply = false: the level and the pending count,
// nothing changed.
func (a migrateArgs) status(ctx context.Context, conn *pgx.Conn, files []migration, ui sdk.UI) (migrateOutputs, error) {
	out := migrateOutputs{Applied: []string{}}
	set := &migrationSet{files: files}
	var err error
	if set.applied, set.level, err = readApplied(ctx, conn, a.table()); err != nil {
		return out, a.redact(err)
	}
	todo, err := set.pending()
	if err != nil {
		return out, err
	}
	out.Level, out.Pending = set.level, len(todo)
	ui.Logf("database %s is at migration %d; %d pending (apply = false: nothing applied)", a.Database, out.Level, out.Pending)
	return out, nil
}

// applyMigration runs one file and records it, in one transaction. The
// file is sent as it is (the simple protocol: it may hold many
// statements), so the server's error position is an offset into it.
func applyMigration(ctx context.Context, conn *pgx.Conn, table string, m migration) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := execScript(ctx, tx.Conn().PgConn(), m.SQL); err != nil {
			return sqlError(err, m.SQL, m.Path)
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name, sha256) VALUES ($1, $2, $3)", m.Version, m.Name, m.Sum)
		if err != nil {
			return fmt.Errorf("record migration %s in %s: %w", m.Name, table, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migration %s failed and was rolled back: %w", m.Name, err)
	}
	return nil
}

// lock takes the session advisory lock of this database's migrations
// table, waiting at most lock_timeout, and returns its release.
func (a migrateArgs) lock(ctx context.Context, conn *pgx.Conn, ui sdk.UI) (func(), error) {
	h := fnv.New64a()
	h.Write([]byte("zrun.migrate:" + a.table().Sanitize()))
	key := int64(h.Sum64())
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		return nil, fmt.Errorf("take the migrations lock: %w", err)
	}
	if !got {
		timeout := defaultLockTimeout
		if a.LockTimeout != nil {
			timeout, _ = time.ParseDuration(*a.LockTimeout)
		}
		ui.Logf("another migrate holds the lock of %s; waiting up to %s", a.table().Sanitize(), timeout)
		wait, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if _, err := conn.Exec(wait, "SELECT pg_advisory_lock($1)", key); err != nil {
			if errors.Is(wait.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				return nil, fmt.Errorf("another migrate of database %q held the lock for more than lock_timeout (%s)", a.Database, timeout)
			}
			return nil, fmt.Errorf("take the migrations lock: %w", err)
		}
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key)
	}, nil
}
