package nginx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

type testArgs struct {
	connArgs
}

type testOutputs struct {
	OK bool `zrun:"ok" help:"Always true: a configuration nginx refuses fails the step with nginx's message."`
}

func newTest() sdk.Action {
	return sdk.NewAction("test", "Run nginx -t on the target's configuration; the step fails with nginx's own message (file:line) when it is refused.",
		func(ctx context.Context, a testArgs, ui sdk.UI) (testOutputs, error) {
			s, err := a.server(ui)
			if err != nil {
				return testOutputs{}, err
			}
			if err := s.test(ctx); err != nil {
				return testOutputs{}, err
			}
			return testOutputs{OK: true}, nil
		}, sdk.WithValidate(func(_ context.Context, a testArgs, known sdk.Known) sdk.Diagnostics { return a.validate(known) }))
}

type reloadArgs struct {
	connArgs
}

type reloadOutputs struct {
	Master  int   `zrun:"master" help:"The master's process id."`
	Workers []int `zrun:"workers" help:"The worker process ids after the reload (not the old ones shutting down)."`
}

func newReload() sdk.Action {
	return sdk.NewAction("reload", "Test the configuration, reload nginx and prove the reload took (new workers run and the old ones are gone or shutting down).",
		func(ctx context.Context, a reloadArgs, ui sdk.UI) (reloadOutputs, error) {
			s, err := a.server(ui)
			if err != nil {
				return reloadOutputs{}, err
			}
			unlock, err := s.lock(ctx)
			if err != nil {
				return reloadOutputs{}, err
			}
			defer unlock()
			if err := s.testReload(ctx); err != nil {
				var r *refused
				if errors.As(err, &r) {
					return reloadOutputs{}, fmt.Errorf("not reloaded: %w", err)
				}
				return reloadOutputs{}, err
			}
			master, workers, err := s.live(ctx)
			return reloadOutputs{Master: master, Workers: workers}, err
		}, sdk.WithValidate(func(_ context.Context, a reloadArgs, known sdk.Known) sdk.Diagnostics { return a.validate(known) }))
}

type ensureArgs struct {
	connArgs
}

type ensureOutputs struct {
	Started bool  `zrun:"started" help:"Whether the step started nginx (false: it was running)."`
	Master  int   `zrun:"master" help:"The master's process id."`
	Workers []int `zrun:"workers" help:"Its worker process ids."`
}

func newEnsureRunning() sdk.Action {
	return sdk.NewAction("ensure_running", "Start nginx with the configuration (-c, -p) unless its master is running, and wait until it has workers.",
		runEnsureRunning, sdk.WithValidate(func(_ context.Context, a ensureArgs, known sdk.Known) sdk.Diagnostics { return a.validate(known) }))
}

func runEnsureRunning(ctx context.Context, a ensureArgs, ui sdk.UI) (ensureOutputs, error) {
	s, err := a.server(ui)
	if err != nil {
		return ensureOutputs{}, err
	}
	if master, workers, err := s.workers(ctx); err == nil && len(workers) > 0 {
		return ensureOutputs{Master: master, Workers: workers}, nil
	}
	if err := s.test(ctx); err != nil {
		return ensureOutputs{}, fmt.Errorf("not started: %w", err)
	}
	// nginx daemonizes (fork, then setsid in the child). The target stops
	// what is left of a command's process group when it ends, which can
	// catch the child before its setsid: setsid -w puts nginx in a session
	// of its own before it starts, and waits for it to daemonize. The
	// daemon keeps stderr open when its error log is stderr (Debian's
	// default), which would hold Exec (and an SSH session) until nginx
	// ends: its standard streams go to /dev/null. The -t above said what
	// is wrong with a configuration; a start that fails later (a port in
	// use) is in nginx's error log.
	args := append([]string{"sh", "-c", `exec setsid -w "$0" "$@" </dev/null >/dev/null 2>&1`}, s.args()...)
	res, err := s.t.Exec(ctx, &sdk.Command{Args: args, Sudo: s.sudo})
	if err != nil {
		return ensureOutputs{}, fmt.Errorf("start nginx on %s: %w", s.t.Name(), err)
	}
	if res.ExitCode != 0 {
		return ensureOutputs{}, fmt.Errorf("nginx did not start on %s (exit code %d): its error log says why (a port in use, a missing file)", s.t.Name(), res.ExitCode)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for {
		master, workers, err := s.workers(ctx)
		if err == nil && len(workers) > 0 {
			ui.Logf("nginx started on %s (master %d)", s.t.Name(), master)
			return ensureOutputs{Started: true, Master: master, Workers: workers}, nil
		}
		select {
		case <-ctx.Done():
			return ensureOutputs{}, fmt.Errorf("nginx was started on %s but has no master with workers after %s: %v", s.t.Name(), s.timeout, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
