package postgres

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/sdk"
)

// The tests in this file reach PostgreSQL through a real OpenSSH server
// (sshdtest: /usr/sbin/sshd on loopback) and zrun's own SSH
// communicator, as a step with target = "db1" would: pgx dials
// 127.0.0.1:5432 (or the unix socket) from the server's side of the SSH
// connection, and the tools run there.

// dialCounter is a target that counts the connections it dialled.
type dialCounter struct {
	sdk.Target
	dials atomic.Int32
}

func (d *dialCounter) Dial(ctx context.Context, network, address string) (sdk.Conn, error) {
	d.dials.Add(1)
	return d.Target.Dial(ctx, network, address)
}

// remote starts an sshd and returns its target, as host "db1".
func remote(t *testing.T) *dialCounter {
	t.Helper()
	s := sshdtest.Start(t, nil)
	pool := targets.NewPool()
	t.Cleanup(func() { _ = pool.Close() })
	tg, err := pool.Target(t.Context(), &targets.Config{
		Name: "db1", Address: s.Addr, Port: s.Port, User: s.User,
		PrivateKeyFile: s.KeyFile, KnownHostsFile: s.KnownHostsFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &dialCounter{Target: tg}
}

func TestThroughSSH(t *testing.T) {
	s := pgServer(t)
	db1 := remote(t)
	on := &step{target: db1}

	res := on.run(t, "ready", s.args(nil)).ok(t)
	if !strings.HasPrefix(res.str("server_version"), "15.") || db1.dials.Load() == 0 {
		t.Errorf("server_version %q after %d dials through db1", res.str("server_version"), db1.dials.Load())
	}

	// The unix socket, through the SSH connection: the server answers
	// (its peer authentication sees sshd's user, not postgres).
	res = on.run(t, "ready", s.args(map[string]any{"host": "/var/run/postgresql", "wait": "2s"}))
	if err := res.err(); err != nil && !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("the unix socket through db1: %v", err)
	} else {
		t.Logf("the unix socket through db1: %v", err)
	}

	src := s.newDatabase(t, "src")
	fillSource(t, s, src)
	want := tableSums(t, s, src)
	dst := s.newDatabase(t, "dst")
	// pg_dump and pg_restore run on db1, their passfile written there.
	p := pipe(t, db1, s.args(map[string]any{"database": src}), s.args(map[string]any{"database": dst}), nil)
	p.dump.ok(t)
	p.restore.ok(t)
	if got := tableSums(t, s, dst); !cmp.Equal(got, want) {
		t.Errorf("restored through db1, the tables differ:\n%s", cmp.Diff(want, got))
	}
	res = on.run(t, "query", s.args(map[string]any{"database": dst, "sql": "SELECT count(*) AS n FROM shop.orders"})).ok(t)
	if n := res.outputs.GetAttr("rows").Index(zero).GetAttr("n").AsBigFloat().String(); n != "5000" {
		t.Errorf("orders through db1 = %s", n)
	}
}

var zero = cty.NumberIntVal(0)
