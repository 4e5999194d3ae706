package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/zrun-dev/zrun/sdk"
)

type infoArgs struct {
	connArgs
	Database  *string `zrun:"database" help:"A database to describe table by table. Default: none (the server and its databases only)."`
	Checksums *bool   `zrun:"checksums" help:"With database: compute each table's checksum (reads every row). false counts rows only. Default: true."`
}

type infoOutputs struct {
	ServerVersion    string      `zrun:"server_version" help:"The server's version, e.g. \"15.8\"."`
	ServerVersionNum int         `zrun:"server_version_num" help:"The server's version as a number, e.g. 150008."`
	Databases        []dbSize    `zrun:"databases" help:"Every database that accepts connections, with its size: a list of {name, size_bytes}, by name."`
	SizeBytes        int64       `zrun:"size_bytes" help:"With database: its size on disk in bytes."`
	Tables           []tableInfo `zrun:"tables" help:"With database: its tables (partitions, not their parents), by schema and name: a list of {schema, name, rows, checksum}. rows is counted exactly; checksum is an order-independent digest of every row's text, equal for two tables that hold the same rows (a restored copy and its source)."`
}

type dbSize struct {
	Name      string `cty:"name"`
	SizeBytes int64  `cty:"size_bytes"`
}

type tableInfo struct {
	Schema   string `cty:"schema"`
	Name     string `cty:"name"`
	Rows     int64  `cty:"rows"`
	Checksum string `cty:"checksum"`
}

func newInfo() sdk.Action {
	return sdk.NewAction("info",
		"Describe the server (version, databases and their sizes) or, with database, that database's tables: exact row counts and checksums to compare a copy with its source.",
		runInfo, sdk.WithValidate(validateInfo))
}

func validateInfo(_ context.Context, a infoArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	if a.Database != nil {
		diags = append(diags, validateName("database", *a.Database, known)...)
	}
	return diags
}

func runInfo(ctx context.Context, a infoArgs, ui sdk.UI) (infoOutputs, error) {
	database := maintenanceDatabase
	if a.Database != nil {
		database = *a.Database
	}
	conn, err := a.connect(ctx, ui, database)
	if err != nil {
		return infoOutputs{}, err
	}
	defer closeConn(ctx, conn)
	var out infoOutputs
	if out.ServerVersion, out.ServerVersionNum, err = serverVersion(ctx, conn); err != nil {
		return out, a.redact(err)
	}
	rows, err := conn.Query(ctx, `SELECT datname, pg_database_size(oid) FROM pg_database
		WHERE datallowconn AND has_database_privilege(oid, 'CONNECT') ORDER BY datname`)
	if err == nil {
		out.Databases, err = pgx.CollectRows(rows, pgx.RowToStructByPos[dbSize])
	}
	if err != nil {
		return out, a.redact(fmt.Errorf("list the databases: %w", err))
	}
	out.Databases = nonNil(out.Databases)
	out.Tables = []tableInfo{}
	if a.Database == nil {
		return out, nil
	}
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&out.SizeBytes); err != nil {
		return out, a.redact(fmt.Errorf("size of database %q: %w", database, err))
	}
	out.Tables, err = tables(ctx, conn, a.Checksums == nil || *a.Checksums, ui)
	return out, a.redact(err)
}

// tables lists the database's tables with their exact row counts and,
// when sum is set, their checksums. All are read in one repeatable-read
// transaction: one snapshot for the whole database.
func tables(ctx context.Context, conn *pgx.Conn, sum bool, ui sdk.UI) ([]tableInfo, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("start reading the tables: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `SELECT n.nspname, c.relname, 0::bigint, '' FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
			AND n.nspname NOT LIKE 'pg_temp%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list the tables: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tableInfo])
	if err != nil {
		return nil, fmt.Errorf("list the tables: %w", err)
	}
	for i := range list {
		t := &list[i]
		name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
		// The digest of a row is the first 64 bits of the md5 of its
		// text; the table's is their sum, whatever the rows' order.
		q := "SELECT count(*), '' FROM " + name
		if sum {
			q = "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric), 0)::text FROM " + name + " t"
		}
		if err := tx.QueryRow(ctx, q).Scan(&t.Rows, &t.Checksum); err != nil {
			return nil, fmt.Errorf("read table %s: %w", name, err)
		}
		if sum {
			t.Checksum = fmt.Sprintf("%d:%s", t.Rows, t.Checksum)
		}
		ui.Progress(int64(i+1), int64(len(list)), "reading "+name)
	}
	return nonNil(list), nil
}

// nonNil is list, or an empty list for nil: an output is a list, never null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
