package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The values testdata/secrets uses: a secret from the process environment,
// one from its .env.test file, and a sensitive param given on the command
// line. None may appear in anything zrun writes.
const (
	secretToken    = "tok-E2E-3a9f1c77d2"
	secretPassword = "pw-E2E-b81e55c0aa"
	sensitiveParam = "prm-E2E-47d0e9f312"
)

// secretServer is an HTTP server that records what the http.request steps
// of testdata/secrets send it, and echoes the secrets back in its answer,
// so the plugin's outputs hold them too.
type secretServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seenRequest
}

type seenRequest struct{ auth, password, body, query string }

func newSecretServer(t *testing.T) *secretServer {
	t.Helper()
	s := &secretServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := seenRequest{auth: r.Header.Get("Authorization"), password: r.Header.Get("X-Db-Password"),
			body: string(body), query: r.URL.RawQuery}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		fmt.Fprintf(w, "you sent %s, %s, %s and %s", req.auth, req.password, req.body, req.query)
	}))
	t.Cleanup(s.Close)
	return s
}

// wantReal fails unless every request the server got carried the real
// values: the secrets are really used, only never shown.
func (s *secretServer) wantReal(t *testing.T, wantRequests int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) != wantRequests {
		t.Errorf("the server got %d requests, want %d", len(s.reqs), wantRequests)
	}
	for i, r := range s.reqs {
		if r.auth != "Bearer "+secretToken || r.password != secretPassword || r.body != sensitiveParam {
			t.Errorf("request %d did not carry the real values: %+v", i+1, r)
		}
	}
}

// secretEnv is the environment zrun runs testdata/secrets with.
func secretEnv(server string, extra ...string) []string {
	return append([]string{"ZRUN_E2E_SECRET_TOKEN=" + secretToken, "ZRUN_E2E_SERVER=" + server}, extra...)
}

// digest is what the fixture's steps print for a value they were given:
// the first 16 hex digits of its SHA-256.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

// written collects everything zrun wrote, by where it wrote it.
type written map[string]string

func (w written) add(what string, r result) {
	w[what+": stdout"] = r.stdout
	w[what+": stderr"] = r.stderr
}

// addFiles adds every file under dir, if there is a dir.
func (w written) addFiles(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		w["file "+path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pieceLen is the length of the pieces of a secret searched for: a secret
// cut in two, or changed in case (upper, lower), leaks its pieces.
const pieceLen = 10

// wantNoSecret is wantNoValue, and fails unless "(sensitive)" shows
// where the values were masked.
func (w written) wantNoSecret(t *testing.T) {
	t.Helper()
	w.wantNoValue(t)
	for _, text := range w {
		if strings.Contains(text, "(sensitive)") {
			return
		}
	}
	t.Error(`nothing zrun wrote says "(sensitive)"`)
}

// wantNoValue fails for every place holding a secret value, any piece of
// pieceLen characters of one (in any case), or a line of the multi-line
// secret.pem (a short one where it stands alone).
func (w written) wantNoValue(t *testing.T) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join("testdata", "secrets", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"secret.token": secretToken, "secret.db_password": secretPassword, "param.api_key": sensitiveParam,
		"base64encode(secret.token)": base64.StdEncoding.EncodeToString([]byte(secretToken))}
	var short []string
	for i, line := range strings.Split(strings.TrimSpace(string(pem)), "\n") {
		if len(line) < 4 {
			short = append(short, line)
			continue
		}
		values[fmt.Sprintf("line %d of secret.pem", i+1)] = line
	}
	for what, text := range w {
		lower := strings.ToLower(text)
		for name, v := range values {
			for j := 0; j+pieceLen <= len(v); j++ {
				piece := strings.ToLower(v[j : j+pieceLen])
				if i := strings.Index(lower, piece); i >= 0 {
					t.Errorf("%s holds %q of the value of %s: ...%s...", what, piece, name, text[max(i-80, 0):min(i+pieceLen+40, len(text))])
					break
				}
			}
		}
		for _, s := range short {
			if l, ok := standsAlone(text, s); ok {
				t.Errorf("%s holds the short line %q of secret.pem alone on a line: %q", what, s, l)
			}
		}
	}
}

// standsAlone finds a line of output that is s alone: the whole line,
// the part after a step's " | " prefix, or a JSON "line" field.
func standsAlone(text, s string) (string, bool) {
	for _, l := range strings.Split(text, "\n") {
		_, after, _ := strings.Cut(l, " | ")
		if strings.TrimSpace(l) == s || strings.TrimSpace(after) == s {
			return l, true
		}
		if i := strings.Index(l, `"line":"`); i >= 0 {
			field, _, _ := strings.Cut(l[i+len(`"line":"`):], `"`)
			if strings.TrimSpace(field) == s {
				return l, true
			}
		}
	}
	return "", false
}

// runSecretWorkflows runs every command of the scenario in dir with env,
// checks what each must show, and returns what they all wrote.
func runSecretWorkflows(t *testing.T, dir string, env []string) written {
	t.Helper()
	w := written{}
	param := "api_key=" + sensitiveParam
	run := func(code int, args ...string) result {
		t.Helper()
		r := zrun(t, dir, env, args...)
		wantCode(t, r, code)
		w.add(strings.Join(args, " "), r)
		return r
	}

	r := run(0, "workflow", "use", "--param", param)
	wantContains(t, "workflow use", r.stdout,
		"argument digest "+digest(secretToken), "inner digest "+digest(secretPassword),
		"token=(sensitive)", "password=(sensitive)", "key=(sensitive)", "inner got (sensitive)",
		"condition held")
	wantContains(t, "workflow use", oneLine(r.stdout), `auth = "(sensitive)"`, `plain = "nothing secret here"`)
	if strings.Contains(r.stdout, "condition failed to hold") {
		t.Errorf("step.when_false ran:\n%s", r.stdout)
	}
	r = run(0, "workflow", "use", "--param", param, "--output", "json")
	evs := parseEvents(t, r.stdout)
	if e := runFinished(t, evs); e.Outputs["auth"] != "(sensitive)" || e.Outputs["plain"] != "nothing secret here" {
		t.Errorf("run_finished outputs = %v", e.Outputs)
	}
	if e, _ := stepEvent(evs, "step_finished", "step.when_false"); e.Status != "skipped" {
		t.Errorf("step.when_false finished %+v, want skipped", e)
	}
	r = run(4, "workflow", "fail", "--param", param)
	wantContains(t, "workflow fail", r.stdout+r.stderr, "failing with (sensitive)",
		"expected 299; body: you sent (sensitive), (sensitive), (sensitive)")
	run(4, "workflow", "fail", "--param", param, "--output", "json")

	run(0, "plan", "use", "--param", param)
	run(0, "plan", "fail", "--param", param, "--output", "json")
	run(0, "workflow", "use", "--param", param, "--dry-run")
	run(0, "graph", "use")
	run(0, "graph", "use", "--format", "mermaid")
	run(0, "validate")
	run(0, "env", "show", "test")
	r = run(0, "runs")
	ids := runIDRe.FindAllString(r.stdout, -1)
	if len(ids) != 4 {
		t.Fatalf("`zrun runs` lists %d runs, want 4:\n%s", len(ids), r.stdout)
	}
	for _, id := range ids {
		r = run(0, "show", id)
		wantContains(t, "show "+id, r.stdout, "param.api_key = (sensitive)")
		run(0, "show", id, "-o", "json")
		r = run(0, "logs", id)
		wantContains(t, "logs "+id, r.stdout, "(sensitive)")
	}
	runShapes(t, run)
	w.addFiles(t, filepath.Join(dir, ".zrun"))
	return w
}

// runShapes runs the workflows of testdata/secrets/workflows/shapes.hcl
// with run, and checks what they must show: secrets of every shape
// printed in every way (a multi-line one, one across the cut of a line
// that never ends), output that is not text, and a sensitive param of
// the wrong type.
func runShapes(t *testing.T, run func(code int, args ...string) result) {
	t.Helper()
	r := run(0, "workflow", "shapes")
	wantContains(t, "workflow shapes", r.stdout, "step.pem | (sensitive)", "step.pem |     (sensitive)",
		"step.derived | lower (sensitive)", "step.derived | base64 (sensitive)",
		"step.bytes | caf\uFFFD cr\uFFFDme", "binary done", "step.bytes | the end", "4 ok")
	r = run(0, "workflow", "shapes", "--output", "json")
	evs := parseEvents(t, r.stdout)
	cut := map[string]string{}
	for _, e := range evs {
		if e.Type == "step_log" && e.Step == "step.cut" {
			cut[e.Stream] += e.Line
		}
	}
	for stream, pad := range map[string]string{"stdout": "a", "stderr": "b"} {
		// The line is cut, after masking, wherever it falls.
		n := strings.Count(cut[stream], pad)
		if got := strings.ReplaceAll(cut[stream], pad, ""); n < 65530 || got != "(sensitive)" {
			t.Errorf("step.cut's %s is %d %q and %q, want 65530 or more and (sensitive)", stream, n, pad, got)
		}
	}
	r = run(0, "runs")
	id := runIDRe.FindString(r.stdout)
	r = run(0, "logs", id)
	wantContains(t, "logs "+id, r.stdout, "(sensitive)", "caf\uFFFD cr\uFFFDme", "the end")

	r = run(3, "workflow", "typed", "--param", "pin="+sensitiveParam)
	wantContains(t, "workflow typed", oneLine(r.stderr), "Invalid param value",
		`Param "pin" of workflow "typed" wants number`, "The value is sensitive, so it is not shown here.")
	if strings.Contains(r.stderr, "Missing required param") {
		t.Errorf("workflow typed: an invalid param is reported missing too:\n%s", r.stderr)
	}
}

// TestSecretsNeverWrittenEverywhere uses two secrets (from the process
// environment and from a dotenv file) and a sensitive param in a command
// argument, a script's stdout and stderr, `when` conditions, HTTP headers
// and body, a called workflow's param, workflow outputs and failing
// steps' errors; runs every command that shows a project, a plan or a
// run; and searches every byte zrun wrote (stdout, stderr, every file
// under .zrun/) for the values. The steps print digests of what they got
// and the test server checks its requests, so the real values were used.
func TestSecretsNeverWrittenEverywhere(t *testing.T) {
	t.Parallel()
	srv := newSecretServer(t)
	dir := project(t, "secrets")
	w := runSecretWorkflows(t, dir, secretEnv(srv.URL))
	if _, ok := w["file "+filepath.Join(dir, ".zrun", "ledger.db")]; !ok {
		t.Errorf("the ledger file %s was not searched", filepath.Join(dir, ".zrun", "ledger.db"))
	}
	w.wantNoSecret(t)
	srv.wantReal(t, 4)
}

// TestSecretsNeverWrittenPostgres is the same with the PostgreSQL ledger,
// in a fresh schema of $ZRUN_TEST_POSTGRES, searching every row of every
// table zrun made there too.
func TestSecretsNeverWrittenPostgres(t *testing.T) {
	t.Parallel()
	dsn := testPostgres(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to $ZRUN_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	schema := fmt.Sprintf("zrun_e2e_secrets_%d_%x", os.Getpid(), rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})

	srv := newSecretServer(t)
	dir := project(t, "secrets")
	w := runSecretWorkflows(t, dir, secretEnv(srv.URL, "ZRUN_LEDGER_DSN="+withSearchPath(dsn, schema)))
	if _, err := os.Stat(filepath.Join(dir, ".zrun", "ledger.db")); err == nil {
		t.Error("zrun wrote the embedded ledger although ZRUN_LEDGER_DSN names PostgreSQL")
	}

	rows, err := conn.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"zrun_runs", "zrun_steps", "zrun_logs"} {
		if !strings.Contains(strings.Join(tables, " "), want) {
			t.Fatalf("schema %s has tables %v, no %s: zrun did not write its ledger there", schema, tables, want)
		}
	}
	for _, table := range tables {
		rows, err := conn.Query(ctx, fmt.Sprintf("SELECT t::text FROM %s t", pgx.Identifier{schema, table}.Sanitize()))
		if err != nil {
			t.Fatal(err)
		}
		text, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		w["table "+table] = strings.Join(text, "\n")
	}
	wantContains(t, "table zrun_logs", w["table zrun_logs"], "condition held", "token=(sensitive)")
	w.wantNoSecret(t)
	srv.wantReal(t, 4)
}

// withSearchPath adds search_path=schema to a postgres:// URL or a
// key=value DSN; pgx passes it to the server as a runtime parameter.
func withSearchPath(dsn, schema string) string {
	switch {
	case !strings.Contains(dsn, "://"):
		return dsn + " search_path=" + schema
	case strings.Contains(dsn, "?"):
		return dsn + "&search_path=" + schema
	}
	return dsn + "?search_path=" + schema
}

// TestSecretsInHTTPURL puts a sensitive param and a secret in an
// http.request URL and the secret in its expect_body: plan and run must
// work, send the real values, and write none of them.
func TestSecretsInHTTPURL(t *testing.T) {
	t.Parallel()
	srv := newSecretServer(t)
	dir := project(t, "secrets")
	env := secretEnv(srv.URL)
	w := written{}
	for _, args := range [][]string{
		{"plan", "url", "--param", "api_key=" + sensitiveParam},
		{"workflow", "url", "--param", "api_key=" + sensitiveParam},
	} {
		r := zrun(t, dir, env, args...)
		wantCode(t, r, 0)
		w.add(strings.Join(args, " "), r)
	}
	id := lastRunID(t, dir)
	for _, args := range [][]string{{"show", id, "-o", "json"}, {"logs", id}} {
		w.add(strings.Join(args, " "), zrun(t, dir, env, args...))
	}
	w.addFiles(t, filepath.Join(dir, ".zrun"))
	w.wantNoSecret(t)
	srv.wantReal(t, 2)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var queries []string
	for _, r := range srv.reqs {
		queries = append(queries, r.query)
	}
	slices.Sort(queries)
	want := []string{url.Values{"key": {sensitiveParam}}.Encode(), url.Values{"key": {sensitiveParam}, "password": {secretPassword}}.Encode()}
	if !slices.Equal(queries, want) {
		t.Errorf("the server got the queries %q, want %q", queries, want)
	}
}

// TestSecretsInFunctionErrors gives secrets to functions that fail and
// quote their argument, in a step argument and in a `when` condition: the
// steps' errors must not show the values.
func TestSecretsInFunctionErrors(t *testing.T) {
	t.Parallel()
	dir := project(t, "secrets")
	env := secretEnv("http://127.0.0.1:9")
	w := written{}
	r := zrun(t, dir, env, "workflow", "convert")
	wantCode(t, r, 4)
	wantContains(t, "workflow convert", r.stdout+r.stderr, "Invalid function argument",
		"step.upper failed", "step.substr failed", "invalid value for sensitive argument 1 of tonumber")
	w.add("workflow convert", r)
	w.add("workflow convert -o json", zrun(t, dir, env, "workflow", "convert", "--output", "json"))
	id := lastRunID(t, dir)
	w.add("show", zrun(t, dir, env, "show", id, "-o", "json"))
	w.addFiles(t, filepath.Join(dir, ".zrun"))
	// The errors do not quote the values, masked or not.
	w.wantNoValue(t)
}

// testPostgres is $ZRUN_TEST_POSTGRES, a superuser's DSN; the test skips
// without it, and fails under CI=true.
func testPostgres(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("ZRUN_TEST_POSTGRES")
	if dsn == "" {
		msg := "ZRUN_TEST_POSTGRES is not set; run `export ZRUN_TEST_POSTGRES=$(bash testdata/postgres.sh)` from the repository root"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}
