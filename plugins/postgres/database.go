package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// adminArgs are the arguments of the actions that administer databases:
// they connect to a maintenance database, never to the one they change.
type adminArgs struct {
	connArgs
	MaintenanceDatabase *string `zrun:"maintenance_database" help:"The database to connect to while administering another. Default: \"postgres\"."`
}

func (a adminArgs) maintenance() string {
	if a.MaintenanceDatabase == nil {
		return maintenanceDatabase
	}
	return *a.MaintenanceDatabase
}

func (a adminArgs) validateAdmin(known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	if a.MaintenanceDatabase != nil {
		diags = append(diags, validateName("maintenance_database", *a.MaintenanceDatabase, known)...)
	}
	return diags
}

// notMaintenance refuses a database the action is connected to.
func (a adminArgs) notMaintenance(arg, name string, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has(arg) && known.Has("maintenance_database") && name == a.maintenance() {
		return diags.Errorf(cty.GetAttrPath(arg), "Database in use by this step",
			fmt.Sprintf("The step connects to %q to administer the others, so it cannot remove or rename it: set maintenance_database to another database (\"template1\").", name))
	}
	return nil
}

// --- create_database

type createDatabaseArgs struct {
	adminArgs
	Name        string  `zrun:"name" help:"The database to create."`
	Owner       *string `zrun:"owner" help:"The role that owns it. Default: the connecting role."`
	Template    *string `zrun:"template" help:"The database to copy (\"template0\" for an empty one that takes any dump). Default: the server's (template1)."`
	IfNotExists *bool   `zrun:"if_not_exists" help:"Succeed without change when the database exists. Default: false (an existing database fails the step)."`
}

type createDatabaseOutputs struct {
	Created bool   `zrun:"created" help:"Whether this step created the database (false when it existed and if_not_exists is set)."`
	Name    string `zrun:"name" help:"The database's name, as given (for the steps that use the new database: database = step.scratch.name)."`
}

func newCreateDatabase() sdk.Action {
	return sdk.NewAction("create_database", "Create a database.",
		runCreateDatabase, sdk.WithValidate(validateCreateDatabase), sdk.WithPlan(planCreateDatabase))
}

func validateCreateDatabase(_ context.Context, a createDatabaseArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validateAdmin(known)
	diags = append(diags, validateName("name", a.Name, known)...)
	if a.Owner != nil {
		diags = append(diags, validateName("owner", *a.Owner, known)...)
	}
	if a.Template != nil {
		diags = append(diags, validateName("template", *a.Template, known)...)
	}
	return diags
}

func planCreateDatabase(_ context.Context, a createDatabaseArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("create database %s at %s%s", knownOr(known, "name", a.Name), a.where(), fromTarget(target))}}, nil
}

func runCreateDatabase(ctx context.Context, a createDatabaseArgs, ui sdk.UI) (createDatabaseOutputs, error) {
	conn, err := a.connect(ctx, ui, a.maintenance())
	if err != nil {
		return createDatabaseOutputs{}, err
	}
	defer closeConn(ctx, conn)
	ifNotExists := a.IfNotExists != nil && *a.IfNotExists
	if ifNotExists {
		exists, err := databaseExists(ctx, conn, a.Name)
		if err != nil || exists {
			return createDatabaseOutputs{Name: a.Name}, a.redact(err)
		}
	}
	sql := "CREATE DATABASE " + quoteIdent(a.Name)
	if a.Owner != nil {
		sql += " OWNER " + quoteIdent(*a.Owner)
	}
	if a.Template != nil {
		sql += " TEMPLATE " + quoteIdent(*a.Template)
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		if pe, ok := pgError(err); ok && pe.Code == "42P04" && ifNotExists { // duplicate_database: created meanwhile
			return createDatabaseOutputs{Name: a.Name}, nil
		}
		return createDatabaseOutputs{}, a.redact(fmt.Errorf("create database %q: %w", a.Name, err))
	}
	ui.Logf("created database %s", a.Name)
	return createDatabaseOutputs{Created: true, Name: a.Name}, nil
}

func databaseExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look for database %q: %w", name, err)
	}
	return exists, nil
}

// --- drop_database

type dropDatabaseArgs struct {
	adminArgs
	Name      string `zrun:"name" help:"The database to drop."`
	IfExists  *bool  `zrun:"if_exists" help:"Succeed without change when the database does not exist. Default: false."`
	Terminate *bool  `zrun:"terminate" help:"Terminate the sessions connected to the database first (else a connected session fails the step). Default: true."`
}

type dropDatabaseOutputs struct {
	Dropped    bool `zrun:"dropped" help:"Whether this step dropped the database."`
	Terminated int  `zrun:"terminated" help:"How many sessions connected to it were terminated."`
}

func newDropDatabase() sdk.Action {
	return sdk.NewAction("drop_database", "Drop a database, terminating its sessions first.",
		runDropDatabase, sdk.WithValidate(validateDropDatabase), sdk.WithPlan(planDropDatabase))
}

func validateDropDatabase(_ context.Context, a dropDatabaseArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validateAdmin(known)
	diags = append(diags, validateName("name", a.Name, known)...)
	return append(diags, a.notMaintenance("name", a.Name, known)...)
}

func planDropDatabase(_ context.Context, a dropDatabaseArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("drop database %s at %s%s", knownOr(known, "name", a.Name), a.where(), fromTarget(target))}}, nil
}

func runDropDatabase(ctx context.Context, a dropDatabaseArgs, ui sdk.UI) (dropDatabaseOutputs, error) {
	conn, err := a.connect(ctx, ui, a.maintenance())
	if err != nil {
		return dropDatabaseOutputs{}, err
	}
	defer closeConn(ctx, conn)
	exists, err := databaseExists(ctx, conn, a.Name)
	if err != nil {
		return dropDatabaseOutputs{}, a.redact(err)
	}
	if !exists {
		if a.IfExists != nil && *a.IfExists {
			return dropDatabaseOutputs{}, nil
		}
		return dropDatabaseOutputs{}, &sdk.ArgError{Path: cty.GetAttrPath("name"), Summary: "No such database",
			Detail: fmt.Sprintf("There is no database %q at %s; set if_exists = true to accept that.", a.Name, a.where())}
	}
	var out dropDatabaseOutputs
	err = retryInUse(ctx, a.Terminate, func() error {
		if a.Terminate == nil || *a.Terminate {
			n, err := terminateBackends(ctx, conn, a.Name)
			out.Terminated += n
			if err != nil {
				return err
			}
		}
		_, err := conn.Exec(ctx, "DROP DATABASE "+quoteIdent(a.Name))
		return err
	})
	if err != nil {
		return out, a.redact(fmt.Errorf("drop database %q: %w", a.Name, err))
	}
	ui.Logf("dropped database %s (%d sessions terminated)", a.Name, out.Terminated)
	out.Dropped = true
	return out, nil
}

// retryInUse runs fn, and when terminate is set runs it again, a few
// times, while it fails because other sessions use the database (a
// client that reconnected right after it was terminated). The server
// itself waits up to 5 seconds for them before it fails.
func retryInUse(ctx context.Context, terminate *bool, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		pe, ok := pgError(err)
		if !ok || pe.Code != "55006" || attempt == 3 || (terminate != nil && !*terminate) { // object_in_use
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// --- rename_database

type renameDatabaseArgs struct {
	adminArgs
	From      string `zrun:"from" help:"The database to rename."`
	To        string `zrun:"to" help:"Its new name; no database may have it."`
	Terminate *bool  `zrun:"terminate" help:"Terminate the sessions connected to from first (a database in use cannot be renamed). Default: true."`
}

type renameDatabaseOutputs struct {
	Terminated int `zrun:"terminated" help:"How many sessions connected to from were terminated."`
}

func newRenameDatabase() sdk.Action {
	return sdk.NewAction("rename_database", "Rename a database, terminating its sessions first.",
		runRenameDatabase, sdk.WithValidate(validateRenameDatabase), sdk.WithPlan(planRenameDatabase))
}

func validateRenameDatabase(_ context.Context, a renameDatabaseArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validateAdmin(known)
	diags = append(diags, validateName("from", a.From, known)...)
	diags = append(diags, validateName("to", a.To, known)...)
	diags = append(diags, a.notMaintenance("from", a.From, known)...)
	if known.Has("from") && known.Has("to") && a.From == a.To && a.From != "" {
		diags = diags.Errorf(cty.GetAttrPath("to"), "Same name", fmt.Sprintf("from and to are both %q: nothing to rename.", a.To))
	}
	return diags
}

func planRenameDatabase(_ context.Context, a renameDatabaseArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("rename database %s to %s at %s%s",
		knownOr(known, "from", a.From), knownOr(known, "to", a.To), a.where(), fromTarget(target))}}, nil
}

func runRenameDatabase(ctx context.Context, a renameDatabaseArgs, ui sdk.UI) (renameDatabaseOutputs, error) {
	conn, err := a.connect(ctx, ui, a.maintenance())
	if err != nil {
		return renameDatabaseOutputs{}, err
	}
	defer closeConn(ctx, conn)
	var out renameDatabaseOutputs
	err = retryInUse(ctx, a.Terminate, func() error {
		if a.Terminate == nil || *a.Terminate {
			n, err := terminateBackends(ctx, conn, a.From)
			out.Terminated += n
			if err != nil {
				return err
			}
		}
		_, err := conn.Exec(ctx, "ALTER DATABASE "+quoteIdent(a.From)+" RENAME TO "+quoteIdent(a.To))
		return err
	})
	if err != nil {
		return out, a.redact(fmt.Errorf("rename database %q to %q: %w", a.From, a.To, err))
	}
	ui.Logf("renamed database %s to %s (%d sessions terminated)", a.From, a.To, out.Terminated)
	return out, nil
}

// --- terminate

type terminateArgs struct {
	adminArgs
	Database string `zrun:"database" help:"The database whose sessions to terminate (every one but this step's)."`
}

type terminateOutputs struct {
	Terminated int `zrun:"terminated" help:"How many sessions were terminated."`
}

func newTerminate() sdk.Action {
	return sdk.NewAction("terminate", "Terminate every session connected to a database, and wait until they are gone.",
		runTerminate, sdk.WithValidate(validateTerminate), sdk.WithPlan(planTerminate))
}

func validateTerminate(_ context.Context, a terminateArgs, known sdk.Known) sdk.Diagnostics {
	return append(a.validateAdmin(known), validateName("database", a.Database, known)...)
}

func planTerminate(_ context.Context, a terminateArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("terminate the sessions of database %s at %s%s",
		knownOr(known, "database", a.Database), a.where(), fromTarget(target))}}, nil
}

func runTerminate(ctx context.Context, a terminateArgs, ui sdk.UI) (terminateOutputs, error) {
	conn, err := a.connect(ctx, ui, a.maintenance())
	if err != nil {
		return terminateOutputs{}, err
	}
	defer closeConn(ctx, conn)
	n, err := terminateBackends(ctx, conn, a.Database)
	if err != nil {
		return terminateOutputs{Terminated: n}, a.redact(err)
	}
	ui.Logf("terminated %d sessions of database %s", n, a.Database)
	return terminateOutputs{Terminated: n}, nil
}

// terminateWait bounds how long terminateBackends waits for the sessions
// it terminated to end.
var terminateWait = 10 * time.Second

// terminateBackends terminates every session on database but conn's own,
// and waits until they have ended. A session the step's user may not
// terminate (a superuser's, for a user that is not one) is waited for as
// long: one that was closing when the step began (a client just gone)
// ends by itself; one that does not fails the step, named. Only client
// sessions count (not the server's own workers).
func terminateBackends(ctx context.Context, conn *pgx.Conn, database string) (int, error) {
	type session struct {
		pid        int32
		user, app  string
		terminated bool
	}
	// Sessions of a role only: the server stops its own workers on the
	// database (an autovacuum worker, which has no role and which no user
	// but a superuser may terminate) itself before a drop or a rename.
	// (backend_type would say so too, but not to a user who may not see
	// other users' sessions in full.)
	rows, err := conn.Query(ctx, `SELECT pid, coalesce(usename, ''), coalesce(application_name, '')
		FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND usesysid IS NOT NULL`, database)
	if err != nil {
		return 0, fmt.Errorf("terminate the sessions of database %q: %w", database, err)
	}
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (session, error) {
		var s session
		return s, r.Scan(&s.pid, &s.user, &s.app)
	})
	if err != nil {
		return 0, fmt.Errorf("terminate the sessions of database %q: %w", database, err)
	}
	var pids []int32
	n := 0
	for i := range sessions {
		s := &sessions[i]
		err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", s.pid).Scan(&s.terminated)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
			pids = append(pids, s.pid)
			continue
		}
		if err != nil {
			return n, fmt.Errorf("terminate session %d of database %q: %w", s.pid, database, err)
		}
		if s.terminated {
			n++
			pids = append(pids, s.pid)
		}
	}
	deadline := time.Now().Add(terminateWait)
	for len(pids) > 0 {
		var left []int32
		if err := conn.QueryRow(ctx, "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&left); err != nil {
			return n, fmt.Errorf("wait for the sessions of database %q to end: %w", database, err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range sessions {
				if slices.Contains(left, s.pid) {
					why := "terminated, still there"
					if !s.terminated {
						why = "this user may not terminate it (a superuser's session)"
					}
					names = append(names, fmt.Sprintf("pid %d (user %q, application %q: %s)", s.pid, s.user, s.app, why))
				}
			}
			return n, fmt.Errorf("%d sessions of database %q were still there after %s: %s; end them, or connect as a user that may terminate them", len(left), database, terminateWait, strings.Join(names, "; "))
		}
		select {
		case <-ctx.Done():
			return n, context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return n, nil
}
