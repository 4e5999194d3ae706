package postgres

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// The tests run against a real PostgreSQL server, shared with other
// tests running at the same time: everything they create is named h5_
// and the test's name, and dropped at the end.

// server is the test server's connection settings.
type server struct {
	host     string
	port     int
	user     string
	password string
	dsn      string
}

// pgServer is the server ZRUN_TEST_POSTGRES names; the test skips
// without it, and fails without it under CI.
func pgServer(t testing.TB) *server {
	t.Helper()
	dsn := os.Getenv("ZRUN_TEST_POSTGRES")
	if dsn == "" {
		msg := "ZRUN_TEST_POSTGRES is not set: start PostgreSQL with `export ZRUN_TEST_POSTGRES=$(bash testdata/postgres.sh)` (as root)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("ZRUN_TEST_POSTGRES: %v", err)
	}
	s := &server{host: u.Hostname(), port: 5432, user: u.User.Username(), dsn: dsn}
	s.password, _ = u.User.Password()
	if p := u.Port(); p != "" {
		s.port, _ = strconv.Atoi(p)
	}
	return s
}

// args are the connection arguments for the server, merged with more.
func (s *server) args(more map[string]any) map[string]any {
	out := map[string]any{"host": s.host, "port": s.port, "user": s.user, "password": s.password}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// admin is a superuser connection to database ("" for the DSN's).
func (s *server) admin(t testing.TB, database string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if database != "" {
		cfg.Database = database
	}
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", database, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// exec runs SQL in database as the superuser.
func (s *server) exec(t testing.TB, database, sql string, args ...any) {
	t.Helper()
	conn := s.admin(t, database)
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	_ = conn.Close(t.Context())
}

// scalar is the first column of the first row of a query in database.
func (s *server) scalar(t testing.TB, database, sql string, args ...any) string {
	t.Helper()
	conn := s.admin(t, database)
	defer conn.Close(t.Context())
	var v *string
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if v == nil {
		return "<null>"
	}
	return *v
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// name is a database or role name of this test's own: h5_, the test's
// name, and suffix; at most 63 bytes.
func name(t testing.TB, suffix string) string {
	n := "h5_" + strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(n) > 50 {
		n = n[:50]
	}
	if suffix != "" {
		n += "_" + suffix
	}
	return n
}

// newDatabase creates a database of this test's own, dropped at its end.
func (s *server) newDatabase(t testing.TB, suffix string) string {
	t.Helper()
	db := name(t, suffix)
	s.dropLater(t, db)
	s.exec(t, "postgres", "DROP DATABASE IF EXISTS "+quoteIdent(db)+" WITH (FORCE)")
	s.exec(t, "postgres", "CREATE DATABASE "+quoteIdent(db))
	return db
}

// dropLater drops the database db (this test's own) at the test's end.
func (s *server) dropLater(t testing.TB, db string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg, err := pgx.ParseConfig(s.dsn)
		if err != nil {
			return
		}
		cfg.Database = "postgres"
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("drop %s: %v", db, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})
}

// result is what one action call did.
type result struct {
	outputs cty.Value
	diags   sdk.Diagnostics
	sdktest.Record
}

func (r *result) err() error { return r.diags.Err() }

// ok fails the test unless the call succeeded.
func (r *result) ok(t testing.TB) *result {
	t.Helper()
	if r.diags.HasErrors() {
		t.Fatalf("the step failed: %v", r.diags.Err())
	}
	return r
}

// failed fails the test unless the call failed with every one of want in
// its message, and returns the message.
func (r *result) failed(t testing.TB, want ...string) string {
	t.Helper()
	err := r.err()
	if err == nil {
		t.Fatalf("the step succeeded, want it to fail with %q; outputs %#v", want, r.outputs)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not say %q", err, w)
		}
	}
	return err.Error()
}

func (r *result) str(name string) string { return r.outputs.GetAttr(name).AsString() }

func (r *result) num(name string) int64 {
	n, _ := r.outputs.GetAttr(name).AsBigFloat().Int64()
	return n
}

// strs is a list of strings output.
func (r *result) strs(name string) []string {
	var out []string
	v := r.outputs.GetAttr(name)
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}

// step is one action call's target and streams.
type step struct {
	target sdk.Target
	in     io.Reader // the stream argument's bytes
	out    io.Writer // the stream output's consumer
	grpc   bool
}

func localStep() *step { return &step{target: local.Target()} }

// run validates and runs the action as zrun does.
func (s *step) run(t testing.TB, action string, args map[string]any) *result {
	t.Helper()
	return s.runCtx(t, t.Context(), action, args)
}

func (s *step) runCtx(t testing.TB, ctx context.Context, action string, args map[string]any) *result {
	t.Helper()
	p := Plugin()
	client := sdk.InProcess(p)
	if s.grpc {
		client = sdktest.GRPC(t, p)
	}
	argv := argsValue(t, action, args)
	all, err := client.ValidateActions(ctx, []*sdk.ValidateRequest{{Action: action, Args: argv}})
	if err != nil {
		t.Fatal(err)
	}
	res := &result{diags: all[0]}
	if res.diags.HasErrors() {
		return res
	}
	info := sdk.RunInfo{RunID: "test", Workflow: "test", Env: "test", Step: "step." + action}
	ui := &streamUI{UI: sdktest.NewUI(s.target, info), in: s.in, out: s.out}
	resp, err := client.RunAction(ctx, action, &sdk.RunRequest{Args: argv, Info: info, Target: s.target, UI: ui})
	if err != nil {
		t.Fatal(err)
	}
	res.outputs, res.diags, res.Record = resp.Outputs, append(res.diags, resp.Diagnostics...), ui.Record()
	return res
}

// plan plans the action against the step's target.
func (s *step) plan(t testing.TB, action string, args map[string]any) (*sdk.PlanResponse, sdk.Diagnostics) {
	t.Helper()
	resp, diags, err := sdk.InProcess(Plugin()).PlanAction(t.Context(), action, &sdk.PlanRequest{
		Args: argsValue(t, action, args), Target: s.target, Info: sdk.RunInfo{Step: "step." + action},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp, diags
}

// argsValue converts Go values (or cty.Values) to the action's
// arguments, nulls for those left out.
func argsValue(t testing.TB, action string, args map[string]any) cty.Value {
	t.Helper()
	as, ok := Plugin().Schema().Actions[action]
	if !ok {
		t.Fatalf("no action %q", action)
	}
	ty := as.ArgsType()
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		attrs[name] = cty.NullVal(at)
	}
	for name, a := range args {
		if !ty.HasAttribute(name) {
			t.Fatalf("postgres.%s has no argument %q", action, name)
		}
		v, ok := a.(cty.Value)
		if !ok {
			var err error
			if v, err = gocty.ToCtyValue(a, ty.AttributeType(name)); err != nil {
				t.Fatalf("argument %q: %s", name, err)
			}
		}
		attrs[name] = v
	}
	v, err := convert.Convert(cty.ObjectVal(attrs), ty)
	if err != nil {
		t.Fatalf("arguments of postgres.%s: %v", action, err)
	}
	return v
}

// streamUI is a recording UI whose stream argument reads in and whose
// stream output writes out, as the engine's pipes would.
type streamUI struct {
	*sdktest.UI
	in  io.Reader
	out io.Writer
}

func (u *streamUI) InputStream(string) (io.ReadCloser, error) {
	if u.in == nil {
		return nil, nil
	}
	return io.NopCloser(u.in), nil
}

func (u *streamUI) OutputStream(string) (io.WriteCloser, error) {
	if u.out == nil {
		return nil, nil
	}
	return nopWriteCloser{u.out}, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// piped is what a dump piped into a restore did.
type piped struct {
	dump, restore *result
}

// pipe runs postgres.dump piped into postgres.restore, as zrun pipes two
// steps: the restore reads the bytes as the dump writes them, and its
// stream ends with the dump's outcome (its error when it failed). wrap,
// when set, stands between the dump and the pipe (a test's way to break
// it).
func pipe(t testing.TB, target sdk.Target, dumpArgs, restoreArgs map[string]any, wrap func(io.Writer) io.Writer) piped {
	t.Helper()
	pr, pw := io.Pipe()
	var w io.Writer = pw
	if wrap != nil {
		w = wrap(pw)
	}
	var res piped
	done := make(chan struct{})
	go func() {
		defer close(done)
		res.dump = (&step{target: target, out: w}).run(t, "dump", dumpArgs)
		pw.CloseWithError(res.dump.err())
	}()
	res.restore = (&step{target: target, in: pr}).run(t, "restore", restoreArgs)
	pr.CloseWithError(errors.New("the restore ended")) // a restore that stopped reading stops the dump
	<-done
	return res
}

// tableSums is postgres.info's tables of database, as "schema.name" ->
// "rows checksum".
func tableSums(t testing.TB, s *server, database string) map[string]string {
	t.Helper()
	res := localStep().run(t, "info", s.args(map[string]any{"database": database})).ok(t)
	out := map[string]string{}
	tables := res.outputs.GetAttr("tables")
	for it := tables.ElementIterator(); it.Next(); {
		_, tb := it.Element()
		rows, _ := tb.GetAttr("rows").AsBigFloat().Int64()
		out[tb.GetAttr("schema").AsString()+"."+tb.GetAttr("name").AsString()] =
			strconv.FormatInt(rows, 10) + " " + tb.GetAttr("checksum").AsString()
	}
	return out
}
