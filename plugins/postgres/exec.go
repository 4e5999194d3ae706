package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/zrun-dev/zrun/sdk"
)

type execArgs struct {
	connArgs
	Database    string `zrun:"database" help:"The database to run the SQL in."`
	SQL         string `zrun:"sql" help:"SQL statements, separated by semicolons."`
	Transaction *bool  `zrun:"transaction" help:"Run every statement in one transaction, committed only if all succeed. false runs each on its own, as psql does (for VACUUM, CREATE INDEX CONCURRENTLY, CREATE DATABASE): the statements before a failing one stay done. Default: true."`
}

type execOutputs struct {
	RowsAffected int64 `zrun:"rows_affected" help:"The rows the statements inserted, updated, deleted or selected, added up."`
}

func newExec() sdk.Action {
	return sdk.NewAction("exec",
		"Run SQL statements, in one transaction by default.",
		runExec, sdk.WithValidate(validateExec), sdk.WithPlan(planExec))
}

func validateExec(_ context.Context, a execArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	diags = append(diags, validateName("database", a.Database, known)...)
	return append(diags, validateSQL(a.SQL, known)...)
}

func planExec(_ context.Context, a execArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("run SQL in database %s at %s%s: %s",
		knownOr(known, "database", a.Database), a.where(), fromTarget(target), firstLine(known, a.SQL))}}, nil
}

func runExec(ctx context.Context, a execArgs, ui sdk.UI) (execOutputs, error) {
	conn, err := a.connect(ctx, ui, a.Database)
	if err != nil {
		return execOutputs{}, err
	}
	defer closeConn(ctx, conn)
	var n int64
	if a.Transaction == nil || *a.Transaction {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			n, err = execScript(ctx, tx.Conn().PgConn(), a.SQL)
			return err
		})
		if err != nil {
			return execOutputs{}, a.redact(sqlError(err, a.SQL, "sql"))
		}
		return execOutputs{RowsAffected: n}, nil
	}
	for _, st := range splitStatements(a.SQL) {
		m, err := execScript(ctx, conn.PgConn(), st.text)
		n += m
		if err != nil {
			if pe, ok := pgError(err); ok && pe.Position > 0 {
				pe.Position += int32(st.offset)
			}
			return execOutputs{RowsAffected: n}, a.redact(sqlError(err, a.SQL, "sql"))
		}
	}
	return execOutputs{RowsAffected: n}, nil
}

// execScript runs SQL text (one statement or several) with the simple
// protocol, and adds up the rows its statements affected.
func execScript(ctx context.Context, pc *pgconn.PgConn, sql string) (int64, error) {
	results, err := pc.Exec(ctx, sql).ReadAll()
	var n int64
	for _, r := range results {
		n += r.CommandTag.RowsAffected()
		if r.Err != nil && err == nil {
			err = r.Err
		}
	}
	return n, err
}
