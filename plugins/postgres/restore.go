package postgres

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type restoreArgs struct {
	connArgs
	dumpTarget
	From              string   `zrun:"from,stream,optional" help:"The dump another step streams (from = step.dump.stream), restored as it arrives; not with format = \"directory\", which reads dir."`
	Database          string   `zrun:"database" help:"The database to restore into. It must exist and hold no tables, views or sequences: restore into a new database (postgres.create_database), never over a live one."`
	NoOwner           *bool    `zrun:"no_owner" help:"custom and directory formats: do not give objects their dumped owners (pg_restore --no-owner), so that the dump restores where its roles do not exist; everything is owned by user. Default: true."`
	SingleTransaction *bool    `zrun:"single_transaction" help:"Restore in one transaction, so that a failure leaves the database as empty as it was. Not with jobs > 1. Default: true (false when jobs > 1)."`
	Options           []string `zrun:"options,optional" help:"More pg_restore (custom, directory) or psql (plain) options, e.g. [\"--no-privileges\"]. Options that choose the connection, format or input are refused."`
}

type restoreOutputs struct {
	Format   string `zrun:"format" help:"The format restored."`
	Database string `zrun:"database" help:"The database restored into."`
	Bytes    int64  `zrun:"bytes" help:"How many bytes were read from the stream."`
}

func newRestore() sdk.Action {
	return sdk.NewAction("restore",
		"Restore a dump into an empty database: from the stream another step produces (custom or plain format) or a folder on the target (directory format, parallel jobs). Fails on the first error, and when the stream's producer fails.",
		runRestore, sdk.WithValidate(validateRestore), sdk.WithPlan(planRestore))
}

func validateRestore(_ context.Context, a restoreArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.connArgs.validate(known)
	diags = append(diags, validateName("database", a.Database, known)...)
	diags = append(diags, a.dumpTarget.validate(known)...)
	diags = append(diags, validateOptions(a.Options, known)...)
	if known.Has("format") && a.format() == formatPlain && a.NoOwner != nil && *a.NoOwner && known.Has("no_owner") {
		diags = diags.Errorf(cty.GetAttrPath("no_owner"), "no_owner with a plain dump",
			"A plain dump's SQL sets its owners itself; dump with --no-owner (options = [\"--no-owner\"] on postgres.dump) instead, and remove no_owner here.")
	}
	if known.Has("single_transaction") && known.Has("jobs") && a.SingleTransaction != nil && *a.SingleTransaction && a.jobs() > 1 {
		diags = diags.Errorf(cty.GetAttrPath("single_transaction"), "One transaction with parallel jobs",
			"pg_restore's parallel jobs each have their own connection: set jobs = 1, or single_transaction = false.")
	}
	return diags
}

func planRestore(_ context.Context, a restoreArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	from := "the stream"
	if a.format() == formatDirectory && a.Dir != nil {
		from = *a.Dir
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("restore a %s dump from %s into database %s at %s%s",
		a.format(), from, knownOr(known, "database", a.Database), a.where(), fromTarget(target))}}, nil
}

func (a restoreArgs) singleTransaction() bool {
	if a.SingleTransaction == nil {
		return a.jobs() == 1
	}
	return *a.SingleTransaction
}

func runRestore(ctx context.Context, a restoreArgs, ui sdk.UI) (restoreOutputs, error) {
	out := restoreOutputs{Format: a.format(), Database: a.Database}
	var in io.ReadCloser
	if out.Format != formatDirectory {
		var err error
		if in, err = ui.InputStream("from"); err != nil {
			return out, fmt.Errorf("from: %w", err)
		}
		if in == nil {
			return out, &sdk.ArgError{Path: cty.GetAttrPath("from"), Summary: "Nothing to restore",
				Detail: `"from" is the stream of a step that produces a dump: from = step.dump.stream.`}
		}
		defer in.Close()
	}
	if err := a.checkEmpty(ctx, ui); err != nil {
		return out, err
	}
	t := &tool{conn: a.connArgs, target: ui.Target(), ui: ui}
	if out.Format == formatDirectory {
		return out, t.run(ctx, a.pgRestore(t, "--format=directory", *a.Dir), nil, nil)
	}
	read := newProgress(ui, "restoring "+a.Database)
	src := &guarded{r: counted{r: in, p: read}}
	var args []string
	var stdin io.Reader = src
	if out.Format == formatPlain {
		args, stdin = a.psql(t, src)
	} else {
		args = a.pgRestore(t, "--format=custom", "")
	}
	err := t.run(ctx, args, stdin, ui.Stdout())
	out.Bytes = read.bytes()
	// The producer's failure first: it is why the tool failed, if it
	// did, and it fails the restore even if the tool read a whole dump.
	if perr := src.failed(); perr != nil {
		return out, fmt.Errorf("from: %w (the restore into %q read %d bytes and did not complete: drop that database)", perr, a.Database, out.Bytes)
	}
	if err != nil {
		return out, fmt.Errorf("restore into database %q failed after %d bytes: %w", a.Database, out.Bytes, err)
	}
	ui.Progress(out.Bytes, out.Bytes, "restored "+a.Database)
	ui.Logf("restored %d bytes (%s format) into database %s", out.Bytes, out.Format, a.Database)
	return out, nil
}

// pgRestore is the pg_restore command line reading input ("" for stdin).
func (a restoreArgs) pgRestore(t *tool, format, input string) []string {
	args := []string{"pg_restore", "--no-password", "--exit-on-error", format, "--dbname=" + t.conninfo(a.Database)}
	if a.NoOwner == nil || *a.NoOwner {
		args = append(args, "--no-owner")
	}
	if a.singleTransaction() {
		args = append(args, "--single-transaction")
	}
	if a.jobs() > 1 {
		args = append(args, "--jobs="+strconv.Itoa(a.jobs()))
	}
	args = append(args, a.Options...)
	if input != "" {
		args = append(args, input)
	}
	return args
}

// psql is the psql command line for a plain dump, and its input: the
// dump between BEGIN and COMMIT (when single_transaction), so that only
// a stream that ended well is committed. (psql --single-transaction
// would commit at the end of its input however it ended: a producer that
// failed at a statement's end would leave a part of the dump committed.)
func (a restoreArgs) psql(t *tool, src io.Reader) ([]string, io.Reader) {
	args := []string{"psql", "--no-password", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--dbname=" + t.conninfo(a.Database)}
	args = append(args, a.Options...)
	if !a.singleTransaction() {
		return args, src
	}
	return args, io.MultiReader(strings.NewReader("BEGIN;\n"), src, strings.NewReader("\nCOMMIT;\n"))
}

// checkEmpty refuses a database that does not exist or holds relations
// of its own: a restore never lands on a live database.
func (a restoreArgs) checkEmpty(ctx context.Context, ui sdk.UI) error {
	conn, err := a.connect(ctx, ui, a.Database)
	if err != nil {
		if pe, ok := pgError(err); ok && pe.Code == "3D000" {
			return &sdk.ArgError{Path: cty.GetAttrPath("database"), Summary: "No such database",
				Detail: fmt.Sprintf("Database %q does not exist at %s: create it first with postgres.create_database (a restore goes into a new, empty database).", a.Database, a.where())}
		}
		return err
	}
	defer closeConn(ctx, conn)
	var n int
	var example *string
	err = conn.QueryRow(ctx, `SELECT count(*), min(n.nspname || '.' || c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
			AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`).Scan(&n, &example)
	if err != nil {
		return a.redact(fmt.Errorf("look into database %q: %w", a.Database, err))
	}
	if n > 0 {
		return &sdk.ArgError{Path: cty.GetAttrPath("database"), Summary: "Database not empty",
			Detail: fmt.Sprintf("Database %q already holds %d tables, views or sequences (%s, ...): a restore goes into a new, empty database (postgres.create_database), which a later step renames into place.", a.Database, n, *example)}
	}
	return nil
}
