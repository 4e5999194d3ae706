package postgres

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk/local"
)

// fillSource makes a database worth dumping: several schemas and types,
// NULLs, a sequence, a view, an index, a foreign key, and text that
// needs escaping.
func fillSource(t *testing.T, s *server, db string) {
	t.Helper()
	s.exec(t, db, `CREATE SCHEMA shop;
		CREATE TABLE shop.customers (id serial PRIMARY KEY, name text NOT NULL, email text, data jsonb, avatar bytea, born date);
		CREATE TABLE shop.orders (id bigserial PRIMARY KEY, customer int REFERENCES shop.customers, total numeric(12,2), at timestamptz DEFAULT now(), tags text[]);
		CREATE INDEX ON shop.orders (customer);
		CREATE VIEW shop.big AS SELECT * FROM shop.orders WHERE total > 100;
		CREATE TABLE public.notes (line text);
		INSERT INTO shop.customers (name, email, data, avatar, born)
			SELECT 'c' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'c' || i || '@example.com' END,
				jsonb_build_object('i', i, 'q', 'it''s "quoted"'), decode(md5(i::text), 'hex'), date '2000-01-01' + i
			FROM generate_series(1, 2000) i;
		INSERT INTO shop.orders (customer, total, tags)
			SELECT 1 + i % 2000, (i * 7.31) % 500, ARRAY['a' || i % 5, E'tab\there']
			FROM generate_series(1, 5000) i;
		INSERT INTO public.notes VALUES (E'back\\slash'), (E'new\nline'), ('COPY-like \.'), (NULL);`)
}

func TestDumpRestoreRoundTrip(t *testing.T) {
	s := pgServer(t)
	src := s.newDatabase(t, "src")
	fillSource(t, s, src)
	want := tableSums(t, s, src)
	if len(want) != 3 {
		t.Fatalf("source tables = %v", want)
	}
	for _, format := range []string{"custom", "plain"} {
		t.Run(format, func(t *testing.T) {
			dst := s.newDatabase(t, "dst")
			res := pipe(t, local.Target(),
				s.args(map[string]any{"database": src, "format": format}),
				s.args(map[string]any{"database": dst, "format": format}), nil)
			res.dump.ok(t)
			res.restore.ok(t)
			if res.dump.num("bytes") < 100<<10 || res.dump.num("bytes") != res.restore.num("bytes") {
				t.Errorf("dumped %d bytes, restored %d", res.dump.num("bytes"), res.restore.num("bytes"))
			}
			if res.dump.str("format") != format || res.dump.str("database") != src || !strings.HasPrefix(res.dump.str("server_version"), "15.") {
				t.Errorf("dump outputs = %#v", res.dump.outputs)
			}
			if got := tableSums(t, s, dst); !cmp.Equal(got, want) {
				t.Errorf("restored tables differ from the source's:\n%s", cmp.Diff(want, got))
			}
			// The sequence goes on where the source's was.
			if next := s.scalar(t, dst, "SELECT nextval('shop.orders_id_seq')::text"); next != "5001" {
				t.Errorf("next order id = %s", next)
			}
			if len(res.dump.Progress) == 0 && len(res.restore.Progress) == 0 {
				t.Errorf("no progress reported")
			}
		})
	}

	t.Run("directory", func(t *testing.T) {
		dst := s.newDatabase(t, "dst")
		dir := filepath.Join(t.TempDir(), "dump")
		res := localStep().run(t, "dump", s.args(map[string]any{"database": src, "format": "directory", "dir": dir, "jobs": 2})).ok(t)
		if res.num("bytes") == 0 {
			t.Errorf("bytes = 0")
		}
		if _, err := os.Stat(filepath.Join(dir, "toc.dat")); err != nil {
			t.Fatal(err)
		}
		localStep().run(t, "restore", s.args(map[string]any{"database": dst, "format": "directory", "dir": dir, "jobs": 2})).ok(t)
		if got := tableSums(t, s, dst); !cmp.Equal(got, want) {
			t.Errorf("restored tables differ from the source's:\n%s", cmp.Diff(want, got))
		}
	})
}

// TestDumpFails: a dump that pg_dump does not finish fails its step, so
// the pipe's consumer fails too.
func TestDumpFails(t *testing.T) {
	s := pgServer(t)
	src := s.newDatabase(t, "src")
	fillSource(t, s, src)

	t.Run("missing database", func(t *testing.T) {
		res := (&step{target: local.Target(), out: io.Discard}).run(t, "dump", s.args(map[string]any{"database": name(t, "nosuch")}))
		res.failed(t, "does not exist")
	})

	t.Run("no consumer", func(t *testing.T) {
		localStep().run(t, "dump", s.args(map[string]any{"database": src})).failed(t, "no step reads this dump's stream")
	})

	t.Run("pg_dump killed", func(t *testing.T) {
		dst := s.newDatabase(t, "dst")
		// The first bytes out, pg_dump is killed (SIGKILL): what it wrote
		// is a part of a dump.
		var once sync.Once
		kill := func(w io.Writer) io.Writer {
			return writerFunc(func(p []byte) (int, error) {
				once.Do(func() { killProcess(t, "pg_dump", src) })
				return w.Write(p)
			})
		}
		res := pipe(t, local.Target(), s.args(map[string]any{"database": src}), s.args(map[string]any{"database": dst}), kill)
		res.dump.failed(t, "pg_dump on local was killed", "signal 9")
		res.restore.failed(t)
		if n := s.scalar(t, dst, "SELECT count(*)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop'"); n != "0" {
			t.Errorf("the failed restore left %s relations in shop", n)
		}
	})

	t.Run("consumer gone", func(t *testing.T) {
		gone := errors.New("the consumer went away")
		res := (&step{target: local.Target(), out: writerFunc(func([]byte) (int, error) { return 0, gone })}).run(t, "dump", s.args(map[string]any{"database": src}))
		res.failed(t, "dump of database")
	})
}

// TestRestoreFails: a broken dump fails the restore and leaves the
// target database without the dump's tables, and its source as it was.
func TestRestoreFails(t *testing.T) {
	s := pgServer(t)
	src := s.newDatabase(t, "src")
	fillSource(t, s, src)
	before := tableSums(t, s, src)
	var dump, plain bytes.Buffer
	(&step{target: local.Target(), out: &dump}).run(t, "dump", s.args(map[string]any{"database": src})).ok(t)
	(&step{target: local.Target(), out: &plain}).run(t, "dump", s.args(map[string]any{"database": src, "format": "plain"})).ok(t)

	empty := func(t *testing.T, db string) {
		t.Helper()
		if n := s.scalar(t, db, "SELECT count(*)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('shop', 'public') AND c.relkind IN ('r', 'S', 'v')"); n != "0" {
			t.Errorf("the failed restore left %s tables, sequences or views in %s", n, db)
		}
	}
	tests := map[string]struct {
		format string
		in     io.Reader
		want   string
	}{
		"custom truncated": {"custom", bytes.NewReader(dump.Bytes()[:dump.Len()/2]), "pg_restore on local exited with code 1"},
		"custom corrupted": {"custom", corrupt(dump.Bytes()), "pg_restore on local exited with code 1"},
		"plain truncated":  {"plain", bytes.NewReader(plain.Bytes()[:plain.Len()*2/3]), "psql on local exited with code 3"},
		"not a dump":       {"custom", strings.NewReader("hello\n"), "did not find magic string in file header"},
		"custom producer failed": {"custom", io.MultiReader(bytes.NewReader(dump.Bytes()[:dump.Len()/2]), errReader{errors.New("step.dump failed: pg_dump was killed")}),
			"from: step.dump failed: pg_dump was killed"},
		// Cut at a line's end: psql alone would see a clean end of input.
		"plain producer failed at a statement's end": {"plain", io.MultiReader(bytes.NewReader(cutAtLine(plain.Bytes(), "CREATE INDEX")), errReader{errors.New("step.dump failed")}),
			"from: step.dump failed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dst := s.newDatabase(t, "dst")
			res := (&step{target: local.Target(), in: tc.in}).run(t, "restore", s.args(map[string]any{"database": dst, "format": tc.format}))
			res.failed(t, tc.want)
			empty(t, dst)
		})
	}
	if after := tableSums(t, s, src); !cmp.Equal(after, before) {
		t.Errorf("the source changed:\n%s", cmp.Diff(before, after))
	}

	t.Run("not empty", func(t *testing.T) {
		res := (&step{target: local.Target(), in: bytes.NewReader(dump.Bytes())}).run(t, "restore", s.args(map[string]any{"database": src}))
		res.failed(t, "Database not empty", "public.notes")
	})
	t.Run("missing", func(t *testing.T) {
		res := (&step{target: local.Target(), in: bytes.NewReader(dump.Bytes())}).run(t, "restore", s.args(map[string]any{"database": name(t, "nosuch")}))
		res.failed(t, "No such database", "create_database")
	})
}

// corrupt is data with bytes flipped in its middle.
func corrupt(data []byte) io.Reader {
	c := bytes.Clone(data)
	for i := len(c) / 2; i < len(c)/2+64; i++ {
		c[i] ^= 0xff
	}
	return bytes.NewReader(c)
}

// cutAtLine is data up to the line that starts with prefix.
func cutAtLine(data []byte, prefix string) []byte {
	i := bytes.Index(data, []byte("\n"+prefix))
	if i < 0 {
		panic("no line " + prefix)
	}
	return data[:i+1]
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// killProcess sends SIGKILL to the process named prog whose command
// line mentions word (this test's database).
func killProcess(t testing.TB, prog, word string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if filepath.Base(args[0]) != prog || !strings.Contains(string(cmdline), word) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill %d: %v", pid, err)
		}
		return
	}
	t.Errorf("no %s process for %s", prog, word)
}
