package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/capture"
)

// stderrLines is how many lines of a tool's stderr its failure quotes.
const stderrLines = 10

// passfileDir is where a tool's passfile is written on the target.
const passfileDir = "/tmp"

// tool is one run of a PostgreSQL client tool (pg_dump, pg_restore,
// psql) on the step's target.
type tool struct {
	conn   connArgs
	target sdk.Target
	ui     sdk.UI
}

// conninfo is the libpq connection string for database, without the
// password: the tools take it as their --dbname, which spares quoting
// every setting (a database named "a=b" stays a name).
func (t *tool) conninfo(database string) string {
	c := t.conn
	secs := int((c.connectTimeout() + time.Second - 1) / time.Second)
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s connect_timeout=%d application_name=zrun",
		quoteValue(c.host()), c.port(), quoteValue(c.user()), quoteValue(database), c.sslmode(), secs)
}

// run runs args on the target with stdin and stdout as given, and fails
// unless the tool exits 0, quoting the last lines of its stderr (which
// the operator also sees as it is written).
func (t *tool) run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	env := map[string]string{"PGAPPNAME": "zrun"}
	if pw := t.conn.password(); pw != "" {
		path, remove, err := t.passfile(ctx, pw)
		if err != nil {
			return err
		}
		defer remove()
		env["PGPASSFILE"] = path
	}
	stderr := capture.New(64 << 10)
	var errOut io.Writer = stderr
	if t.ui != nil {
		errOut = io.MultiWriter(stderr, t.ui.Stderr())
	}
	name := args[0]
	// A stream that fails stops the tool: it would otherwise block on a
	// pipe nobody reads, or go on restoring from an input that broke.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if stdout != nil {
		stdout = stopOnError{w: stdout, stop: cancel}
	}
	if stdin != nil {
		stdin = stopOnError{r: stdin, stop: cancel}
	}
	res, err := t.target.Exec(ctx, &sdk.Command{Args: args, Env: env, Stdin: stdin, Stdout: stdout, Stderr: &lockedWriter{w: errOut}})
	if err != nil {
		return t.conn.redact(fmt.Errorf("%s on %s: %w%s", name, t.target.Name(), err, tail(stderr)))
	}
	if res.ExitCode != 0 {
		how := fmt.Sprintf("exited with code %d", res.ExitCode)
		if res.ExitCode > 128 {
			how = fmt.Sprintf("was killed (exit code %d: signal %d)", res.ExitCode, res.ExitCode-128)
		} else if res.ExitCode < 0 {
			how = "was killed"
		}
		return t.conn.redact(fmt.Errorf("%s on %s %s%s", name, t.target.Name(), how, tail(stderr)))
	}
	return nil
}

// tail is "; last lines of stderr:\n..." or "".
func tail(stderr *capture.Buffer) string {
	lines := strings.TrimSpace(stderr.LastLines(stderrLines))
	if lines == "" {
		return ""
	}
	return "; last lines of its stderr:\n" + strings.ToValidUTF8(lines, "\uFFFD")
}

// passfile writes a libpq passfile (mode 0600) holding the password for
// any server and database, under an unguessable name on the target, and
// returns its path and the function that removes it. The password so
// never appears in a command line or an environment that ps shows: over
// SSH a command's environment travels in its command line.
func (t *tool) passfile(ctx context.Context, password string) (string, func(), error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	path := passfileDir + "/zrun-pgpass-" + hex.EncodeToString(id[:])
	w, err := t.target.Create(ctx, path, &sdk.CreateOptions{Mode: 0o600, NoSync: true})
	if err != nil {
		return "", nil, fmt.Errorf("write the passfile for the PostgreSQL tools on %s: %w", t.target.Name(), err)
	}
	escaped := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(password)
	if _, err := io.WriteString(w, "*:*:*:*:"+escaped+"\n"); err != nil {
		_ = w.Abort()
		return "", nil, fmt.Errorf("write the passfile for the PostgreSQL tools on %s: %w", t.target.Name(), t.conn.redact(err))
	}
	if err := w.Close(); err != nil {
		return "", nil, fmt.Errorf("write the passfile for the PostgreSQL tools on %s: %w", t.target.Name(), t.conn.redact(err))
	}
	remove := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := t.target.Remove(rctx, path); err != nil && t.ui != nil {
			t.ui.Logf("could not remove the passfile %s on %s: %v", path, t.target.Name(), err)
		}
	}
	return path, remove, nil
}

// stopOnError passes writes to w or reads from r, and calls stop with
// the first error other than io.EOF.
type stopOnError struct {
	w    io.Writer
	r    io.Reader
	stop context.CancelCauseFunc
}

func (s stopOnError) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.stop(fmt.Errorf("writing the stream: %w", err))
	}
	return n, err
}

func (s stopOnError) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.stop(fmt.Errorf("reading the stream: %w", err))
	}
	return n, err
}

// lockedWriter serialises writes: a target may write a command's
// output from more than one goroutine.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// progress counts the bytes a dump or restore moved and tells the
// operator at most every progressInterval. Safe for concurrent use.
type progress struct {
	ui   sdk.UI
	what string

	mu   sync.Mutex
	n    int64
	last time.Time
}

const progressInterval = 500 * time.Millisecond

func newProgress(ui sdk.UI, what string) *progress {
	return &progress{ui: ui, what: what, last: time.Now()}
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.ui.Progress(p.n, 0, p.what)
	}
}

func (p *progress) bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// counted counts what passes through it: a Writer's writes or a
// Reader's reads.
type counted struct {
	w io.Writer
	r io.Reader
	p *progress
}

func (c counted) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(n)
	return n, err
}

func (c counted) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// guarded reads a stream and remembers its first error other than
// io.EOF: a producer that failed, which the tool reading the stream
// may not be able to tell from its end.
type guarded struct {
	r io.Reader

	mu  sync.Mutex
	err error
}

func (g *guarded) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.mu.Unlock()
	}
	return n, err
}

func (g *guarded) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
