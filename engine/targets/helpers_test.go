package targets_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/sdk"
)

// config reaches s with its passphrase-less key, trusting its known_hosts.
func config(s *sshdtest.Server) *targets.Config {
	return &targets.Config{
		Name:           "web",
		Address:        s.Addr,
		Port:           s.Port,
		User:           s.User,
		PrivateKeyFile: s.KeyFile,
		KnownHostsFile: s.KnownHostsFile,
	}
}

// target starts a server and returns a pooled target on it.
func target(t *testing.T) (sdk.Target, *sshdtest.Server) {
	t.Helper()
	s := sshdtest.Start(t, nil)
	pool := targets.NewPool()
	t.Cleanup(func() { pool.Close() })
	tg, err := pool.Target(t.Context(), config(s))
	if err != nil {
		t.Fatal(err)
	}
	return tg, s
}

func run(ctx context.Context, t *testing.T, tg sdk.Target, cmd *sdk.Command) *sdk.ExecResult {
	t.Helper()
	res, err := tg.Exec(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}

func itoa(n int) string { return strconv.Itoa(n) }
