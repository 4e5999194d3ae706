package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
)

// recording is the local target, recording every command it runs.
type recording struct {
	sdk.Target
	mu   sync.Mutex
	cmds []*sdk.Command
}

func (r *recording) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, cmd)
	r.mu.Unlock()
	return r.Target.Exec(ctx, cmd)
}

// newRole creates a login role of this test's own with password, dropped
// at the test's end (after its databases: cleanups run last first).
func (s *server) newRole(t *testing.T, password string) string {
	t.Helper()
	role := name(t, "role")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.dsn)
		if err == nil {
			_, err = conn.Exec(ctx, "DROP ROLE IF EXISTS "+quoteIdent(role))
			conn.Close(ctx)
		}
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	s.exec(t, "postgres", "DROP ROLE IF EXISTS "+quoteIdent(role))
	s.exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", quoteIdent(role), strings.ReplaceAll(password, "'", "''")))
	return role
}

// TestPasswordNeverShown runs every kind of action, and of failure, with
// a role's password, and looks for it in every error, log line, output,
// command line and command environment; and checks the passfiles are
// removed. The password holds a colon and a backslash, which a passfile
// must escape.
func TestPasswordNeverShown(t *testing.T) {
	s := pgServer(t)
	var id [6]byte
	_, _ = rand.Read(id[:])
	password := `h5-S3cret:pw\` + hex.EncodeToString(id[:])
	role := s.newRole(t, password)
	src, dst := s.newDatabase(t, "src"), s.newDatabase(t, "dst")
	s.exec(t, "postgres", fmt.Sprintf("ALTER DATABASE %s OWNER TO %s; ALTER DATABASE %s OWNER TO %s", quoteIdent(src), quoteIdent(role), quoteIdent(dst), quoteIdent(role)))
	s.exec(t, src, "SET ROLE "+quoteIdent(role)+"; CREATE TABLE private (x int); INSERT INTO private VALUES (1)")
	conn := func(more map[string]any) map[string]any {
		out := map[string]any{"host": s.host, "port": s.port, "user": role, "password": password}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	before, _ := filepath.Glob(filepath.Join(passfileDir, "zrun-pgpass-*"))
	target := &recording{Target: local.Target()}
	var seen []string
	check := func(what string, r *result) {
		t.Helper()
		text := fmt.Sprintf("%v %#v %q %q %q", r.err(), r.outputs, r.Logs, r.Stdout, r.Stderr)
		if strings.Contains(text, password) {
			t.Errorf("%s shows the password: %s", what, text)
		}
		seen = append(seen, what)
	}
	run := func(action string, args map[string]any, in []byte, wantErr bool) *result {
		t.Helper()
		st := &step{target: target, out: &bytes.Buffer{}}
		if in != nil {
			st.in = bytes.NewReader(in)
		}
		r := st.run(t, action, args)
		if (r.err() != nil) != wantErr {
			t.Errorf("%s: error %v, want an error: %v", action, r.err(), wantErr)
		}
		check(action, r)
		return r
	}

	run("ready", conn(nil), nil, false)
	// An error that quotes the password, from the server.
	r := run("query", conn(map[string]any{"database": src, "sql": "SELECT $1::int", "params": cty.TupleVal([]cty.Value{cty.StringVal(password)})}), nil, true)
	if !strings.Contains(r.err().Error(), "********") {
		t.Errorf("the quoted password is not masked: %v", r.err())
	}
	run("exec", conn(map[string]any{"database": src, "sql": "SELECT '" + strings.ReplaceAll(password, "'", "''") + "'::int"}), nil, true)
	run("query", conn(map[string]any{"database": "h5_nosuch_database"}), nil, true)
	run("ready", conn(map[string]any{"password": "h5-not-it", "wait": "5s"}), nil, true)
	run("info", conn(map[string]any{"database": src}), nil, false)

	// The tools: a dump and restore through the passfile, then failures.
	dump := run("dump", conn(map[string]any{"database": src}), nil, false)
	_ = dump
	var buf bytes.Buffer
	(&step{target: target, out: &buf}).run(t, "dump", conn(map[string]any{"database": src})).ok(t)
	run("restore", conn(map[string]any{"database": dst}), buf.Bytes(), false)
	if n := s.scalar(t, dst, "SELECT count(*)::text FROM private"); n != "1" {
		t.Errorf("restored %s rows", n)
	}
	run("restore", conn(map[string]any{"database": dst}), buf.Bytes(), true)                             // not empty
	run("dump", conn(map[string]any{"database": src, "options": []string{"--table=nosuch"}}), nil, true) // pg_dump fails
	s.exec(t, src, "REVOKE ALL ON private FROM PUBLIC; ALTER TABLE private OWNER TO postgres")
	run("dump", conn(map[string]any{"database": src}), nil, true) // permission denied

	for _, cmd := range target.cmds {
		if strings.Contains(strings.Join(cmd.Args, " "), password) || strings.Contains(fmt.Sprint(cmd.Env), password) {
			t.Errorf("the password is in a command line or its environment: %q %v", cmd.Args, cmd.Env)
		}
		if cmd.Env["PGPASSFILE"] == "" || cmd.Env["PGPASSWORD"] != "" {
			t.Errorf("%s ran without a passfile: %v", cmd.Args[0], cmd.Env)
		}
	}
	if len(target.cmds) < 5 {
		t.Errorf("only %d commands ran", len(target.cmds))
	}
	after, _ := filepath.Glob(filepath.Join(passfileDir, "zrun-pgpass-*"))
	if len(after) > len(before) {
		t.Errorf("passfiles left behind: %q", after)
	}
	plan, _ := (&step{target: target}).plan(t, "dump", conn(map[string]any{"database": src}))
	if strings.Contains(fmt.Sprint(plan.Changes), password) {
		t.Errorf("the plan shows the password: %q", plan.Changes)
	}
}

func TestRedact(t *testing.T) {
	pw := "h5-redact-me"
	c := connArgs{Password: &pw}
	err := c.redact(fmt.Errorf("wrapped: %w", errors.New("token h5-redact-me here")))
	if err.Error() != "wrapped: token ******** here" {
		t.Errorf("redacted = %q", err)
	}
	user := "h5-redact-me"
	if got := (connArgs{Password: &pw, User: &user}).redact(errors.New("user h5-redact-me")); got.Error() != "user h5-redact-me" {
		t.Errorf("a password that is the user name was masked: %q", got)
	}
	if c.redact(nil) != nil {
		t.Errorf("redact(nil) is not nil")
	}
}
