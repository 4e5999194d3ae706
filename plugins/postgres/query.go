package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// defaultMaxRows is how many rows postgres.query keeps unless max_rows
// says otherwise.
const defaultMaxRows = 10000

// maxRowBytes bounds the text a query's rows may hold, whatever max_rows:
// a step's outputs travel as one message.
const maxRowBytes = 64 << 20

type queryArgs struct {
	connArgs
	Database string    `zrun:"database" help:"The database to query."`
	SQL      string    `zrun:"sql" help:"One SQL statement; $1, $2... stand for params."`
	Params   cty.Value `zrun:"params,optional" help:"The values of $1, $2...: strings, numbers, bools or null, sent as text for the server to convert to each parameter's type."`
	MaxRows  *int      `zrun:"max_rows" help:"How many rows the step may return; a query that returns more fails, saying so (add a LIMIT, or raise this). Default: 10000."`
}

type queryOutputs struct {
	Rows     cty.Value `zrun:"rows" help:"The rows, each an object from column name to value: numbers for numeric columns, bools for boolean ones, null for NULL, text (as psql shows it) for every other type."`
	RowCount int       `zrun:"row_count" help:"How many rows the statement returned, or affected for one that returns none (INSERT, UPDATE, DELETE)."`
	Columns  []string  `zrun:"columns" help:"The column names, in order."`
}

func newQuery() sdk.Action {
	return sdk.NewAction("query",
		"Run one SQL statement and return its rows as outputs (step.NAME.rows[0].column).",
		runQuery, sdk.WithValidate(validateQuery), sdk.WithPlan(planQuery))
}

func validateQuery(_ context.Context, a queryArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	diags = append(diags, validateName("database", a.Database, known)...)
	diags = append(diags, validateSQL(a.SQL, known)...)
	if known.Has("max_rows") && a.MaxRows != nil && *a.MaxRows < 1 {
		diags = diags.Errorf(cty.GetAttrPath("max_rows"), "Invalid max_rows", fmt.Sprintf("max_rows is a number of rows, 1 or more; got %d.", *a.MaxRows))
	}
	if known.Has("params") {
		_, pdiags := paramValues(a.Params)
		diags = append(diags, pdiags...)
	}
	return diags
}

func validateSQL(sql string, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("sql") && strings.TrimSpace(sql) == "" {
		return diags.Errorf(cty.GetAttrPath("sql"), "Empty SQL", `"sql" needs a statement, e.g. "SELECT count(*) FROM users".`)
	}
	return nil
}

func planQuery(_ context.Context, a queryArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("query database %s at %s%s: %s",
		knownOr(known, "database", a.Database), a.where(), fromTarget(target), firstLine(known, a.SQL))}}, nil
}

// paramValues turns params into the text of each parameter (nil for null).
func paramValues(params cty.Value) ([][]byte, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	path := cty.GetAttrPath("params")
	if params == cty.NilVal || params.IsNull() {
		return nil, nil
	}
	ty := params.Type()
	if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() {
		return nil, diags.Errorf(path, "Invalid params", `"params" is a list of values, e.g. ["alice", 42, true].`)
	}
	var out [][]byte
	for it := params.ElementIterator(); it.Next(); {
		k, v := it.Element()
		switch {
		case v.IsNull():
			out = append(out, nil)
		case v.Type() == cty.String:
			out = append(out, []byte(v.AsString()))
		case v.Type() == cty.Number:
			out = append(out, []byte(v.AsBigFloat().Text('f', -1)))
		case v.Type() == cty.Bool:
			out = append(out, []byte(fmt.Sprint(v.True())))
		default:
			diags = diags.Errorf(path.Index(k), "Invalid parameter",
				fmt.Sprintf("A parameter is a string, a number, a bool or null, not %s; pass JSON as a string (jsonencode(...)) and cast it ($1::jsonb).", v.Type().FriendlyName()))
		}
	}
	return out, diags
}

func runQuery(ctx context.Context, a queryArgs, ui sdk.UI) (queryOutputs, error) {
	params, _ := paramValues(a.Params)
	maxRows := defaultMaxRows
	if a.MaxRows != nil {
		maxRows = *a.MaxRows
	}
	conn, err := a.connect(ctx, ui, a.Database)
	if err != nil {
		return queryOutputs{}, err
	}
	defer closeConn(ctx, conn)
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Text results for every column: values as psql shows them, typed
	// here by the column's type.
	rr := conn.PgConn().ExecParams(qctx, a.SQL, params, nil, nil, nil)
	fields := rr.FieldDescriptions()
	res := &rowSet{}
	for _, f := range fields {
		res.columns = append(res.columns, f.Name)
		res.oids = append(res.oids, f.DataTypeOID)
	}
	var size int
	for rr.NextRow() {
		if len(res.rows) == maxRows {
			// Cancel first: closing the reader would read every other row.
			cancel()
			_, _ = rr.Close()
			return queryOutputs{}, fmt.Errorf("the query returned more than max_rows (%d) rows: add a LIMIT, or raise max_rows", maxRows)
		}
		row := make([]*string, len(fields))
		for i, v := range rr.Values() {
			if v != nil {
				s := string(v)
				row[i] = &s
				size += len(v)
			}
		}
		if size > maxRowBytes {
			cancel()
			_, _ = rr.Close()
			return queryOutputs{}, fmt.Errorf("the query's first %d rows hold more than %d MiB of text, more than a step's outputs may: select fewer columns or rows", len(res.rows)+1, maxRowBytes>>20)
		}
		res.rows = append(res.rows, row)
	}
	tag, err := rr.Close()
	if err != nil {
		return queryOutputs{}, a.redact(sqlError(err, a.SQL, "sql"))
	}
	count := len(res.rows)
	if len(fields) == 0 {
		count = int(tag.RowsAffected())
	}
	return queryOutputs{Rows: res.value(), RowCount: count, Columns: append([]string{}, res.columns...)}, nil
}

// rowSet is a query's rows as text, typed once all have arrived.
type rowSet struct {
	columns []string
	oids    []uint32
	rows    [][]*string
}

// columnKind is how a column's values become HCL values.
type columnKind int

const (
	kindText columnKind = iota
	kindNumber
	kindBool
)

// kinds types each column by its PostgreSQL type. A numeric column one
// of whose values is not a number HCL has (NaN, Infinity) is text.
func (s *rowSet) kinds() []columnKind {
	kinds := make([]columnKind, len(s.columns))
	for i, oid := range s.oids {
		switch oid {
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID, pgtype.OIDOID:
			kinds[i] = kindNumber
			for _, row := range s.rows {
				if row[i] != nil {
					if _, err := cty.ParseNumberVal(*row[i]); err != nil {
						kinds[i] = kindText
						break
					}
				}
			}
		case pgtype.BoolOID:
			kinds[i] = kindBool
		}
	}
	return kinds
}

// value is the rows as a list of objects (all of one type).
func (s *rowSet) value() cty.Value {
	kinds := s.kinds()
	attrTypes := map[string]cty.Type{}
	for i, name := range s.columns {
		attrTypes[name] = [...]cty.Type{kindText: cty.String, kindNumber: cty.Number, kindBool: cty.Bool}[kinds[i]]
	}
	objType := cty.Object(attrTypes)
	if len(s.rows) == 0 {
		return cty.ListValEmpty(objType)
	}
	rows := make([]cty.Value, len(s.rows))
	for r, row := range s.rows {
		attrs := map[string]cty.Value{}
		for i, name := range s.columns {
			attrs[name] = cell(row[i], kinds[i], attrTypes[name])
		}
		rows[r] = cty.ObjectVal(attrs)
	}
	return cty.ListVal(rows)
}

func cell(v *string, kind columnKind, ty cty.Type) cty.Value {
	if v == nil {
		return cty.NullVal(ty)
	}
	switch kind {
	case kindNumber:
		n, _ := cty.ParseNumberVal(*v)
		return n
	case kindBool:
		return cty.BoolVal(*v == "t")
	}
	return cty.StringVal(strings.ToValidUTF8(*v, "\uFFFD"))
}

// knownOr is a plan's rendering of a string argument that may be unknown.
func knownOr(known sdk.Known, name, value string) string {
	if !known.Has(name) {
		return "(known at run time)"
	}
	return value
}

// firstLine is the first line of a plan's SQL, cut short.
func firstLine(known sdk.Known, sql string) string {
	if !known.Has("sql") {
		return "SQL known at run time"
	}
	line, _, more := strings.Cut(strings.TrimSpace(sql), "\n")
	if len(line) > 72 {
		line, more = line[:72], true
	}
	if more {
		line += " …"
	}
	return line
}
