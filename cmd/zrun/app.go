package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

// app is one invocation of zrun: its output streams, global flags, and the
// plugin processes it started (closed on exit, whatever happens).
type app struct {
	stdout, stderr io.Writer
	dir            string // -C
	noColor        bool
	logLevel       logLevelFlag // --log-level

	interrupted atomic.Bool

	mu       sync.Mutex
	managers []*plugins.Manager
	// ledger and runID are the store and the id of the run in progress,
	// for a second interrupt to record it as cancelled.
	ledger *freezableStore
	runID  string
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr}
}

// close kills every plugin process this invocation started.
func (a *app) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.managers {
		a.logger().Debug("plugin starts", "starts", fmt.Sprint(m.Starts()))
		m.Close()
	}
	a.managers = nil
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "zrun",
		Short: "Run operations workflows written in HCL",
		Long: `zrun runs operations workflows (deploy, backup, restore, health checks...) written
in HCL, as a DAG of steps executed by out-of-process plugins.

A project is a folder with zrun.hcl, workflows/*.hcl and environments/*.hcl.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&a.dir, "chdir", "C", ".", "project folder")
	root.PersistentFlags().BoolVar(&a.noColor, "no-color", os.Getenv("NO_COLOR") != "", "disable colors in output")
	root.PersistentFlags().Var(&a.logLevel, "log-level", "what plugins and zrun log: trace, debug, info, warn or error (default $ZRUN_LOG, or warn)")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, msg: err.Error() + "\nRun '" + c.CommandPath() + " --help' for usage."}
	})
	root.AddCommand(
		a.workflowCmd(),
		a.validateCmd(),
		a.planCmd(),
		a.graphCmd(),
		a.fmtCmd(),
		a.listCmd(),
		a.envCmd(),
		a.functionsCmd(),
		a.pluginsCmd(),
		a.versionCmd(),
		a.runsCmd(),
		a.releasesCmd(),
		a.showCmd(),
		a.logsCmd(),
		a.unlockCmd(),
		a.resumeCmd(),
		a.ledgerCmd(),
		a.consoleCmd(),
		a.hostsCmd(),
		a.importCmd(),
	)
	return root
}

// project loads the project folder, printing diagnostics if it is invalid.
func (a *app) project() (*dsl.Config, error) {
	cfg, diags := dsl.NewParser().LoadProject(a.dir)
	if diags.HasErrors() {
		return nil, a.diagError(cfg, diags)
	}
	a.printDiags(cfg, diags)
	return cfg, nil
}

// manager starts (lazily) the plugins a project uses, pinned by its lock
// file.
func (a *app) manager(cfg *dsl.Config) (*plugins.Manager, error) {
	lock, diags := plugins.ReadLock(filepath.Join(cfg.Dir, plugins.LockFileName))
	if diags.HasErrors() {
		return nil, a.diagError(cfg, diags)
	}
	return a.newManager(cfg, lock)
}

// newManager is manager with the lock file given: nil for a project
// without one, and for `zrun plugins lock`, which must not depend on it.
func (a *app) newManager(cfg *dsl.Config, lock *plugins.LockFile) (*plugins.Manager, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	required := map[string]string{}
	for name, rp := range cfg.Project.RequiredPlugins {
		required[name] = rp.Version
	}
	cacheDir := filepath.Join(cfg.Dir, ".zrun", "cache", "plugins")
	if os.Getenv("ZRUN_PLUGIN_CACHE") == "off" {
		cacheDir = ""
	}
	m := plugins.NewManager(plugins.Options{
		CacheDir:   cacheDir,
		Builtins:   builtins,
		Companions: companions,
		SelfExe:    self,
		SearchDirs: plugins.SearchDirs(cfg.Dir),
		Lock:       lock,
		Required:   required,
		Logger:     a.logger(),
		// A plugin's raw stderr is noise on the terminal: its log lines are
		// shown at the log level, and its last lines are part of any error
		// about it. --log-level trace shows it all.
		Stderr: a.pluginStderr(),
	})
	a.mu.Lock()
	a.managers = append(a.managers, m)
	a.mu.Unlock()
	return m, nil
}

// runner loads the project and wires an engine to its plugins.
func (a *app) runner(sink events.Sink, parallelism int) (*engine.Runner, error) {
	opts, err := a.runnerOptions(sink, parallelism)
	if err != nil {
		return nil, err
	}
	return engine.New(opts), nil
}

// runnerOptions loads the project and its plugins.
func (a *app) runnerOptions(sink events.Sink, parallelism int) (engine.Options, error) {
	rpc.PrepareTLS() // while the project is read: plugins start next
	cfg, err := a.project()
	if err != nil {
		return engine.Options{}, err
	}
	m, err := a.manager(cfg)
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{Config: cfg, Plugins: m, Sink: sink, Parallelism: parallelism}, nil
}

// recordingRunner is runner with the project's ledger: runs are recorded
// and locked. The caller closes the store.
func (a *app) recordingRunner(ctx context.Context, sink events.Sink, parallelism int) (*engine.Runner, state.Store, error) {
	opts, err := a.runnerOptions(sink, parallelism)
	if err != nil {
		return nil, nil, err
	}
	if os.Getenv("ZRUN_LEDGER") == "off" {
		return engine.New(opts), nopStore{}, nil // for measuring the ledger's cost
	}
	store, err := a.openLedger(ctx, opts.Config)
	if err != nil {
		return nil, nil, err
	}
	fs := &freezableStore{Store: store}
	opts.Ledger = fs
	opts.Sink = events.Multi(opts.Sink, a.watchRun(fs))
	return engine.New(opts), store, nil
}

// freezableStore is the ledger as the engine writes it, until a second
// interrupt freezes it: from then on the engine's writes are dropped, so
// that what markCancelled records is the last word.
type freezableStore struct {
	state.Store
	mu     sync.RWMutex // held shared by each write, exclusively to freeze
	frozen bool
}

// freeze waits for the writes in flight, then drops the rest.
func (s *freezableStore) freeze() {
	s.mu.Lock()
	s.frozen = true
	s.mu.Unlock()
}

func (s *freezableStore) write(f func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.frozen {
		return nil
	}
	return f()
}

func (s *freezableStore) FinishRun(ctx context.Context, id string, st state.Status, msg string, outputs []byte, at time.Time) error {
	return s.write(func() error { return s.Store.FinishRun(ctx, id, st, msg, outputs, at) })
}

func (s *freezableStore) PutSteps(ctx context.Context, steps []*state.Step) error {
	return s.write(func() error { return s.Store.PutSteps(ctx, steps) })
}

func (s *freezableStore) AppendLogs(ctx context.Context, lines []state.LogLine) error {
	return s.write(func() error { return s.Store.AppendLogs(ctx, lines) })
}

func (s *freezableStore) Unlock(ctx context.Context, key, runID string) error {
	return s.write(func() error { return s.Store.Unlock(ctx, key, runID) })
}

// watchRun follows which run is in progress in store.
func (a *app) watchRun(store *freezableStore) events.Sink {
	return events.SinkFunc(func(e events.Event) {
		switch e := e.(type) {
		case events.RunStarted:
			a.mu.Lock()
			a.ledger, a.runID = store, e.RunID
			a.mu.Unlock()
		case events.RunFinished:
			a.mu.Lock()
			a.ledger, a.runID = nil, ""
			a.mu.Unlock()
		}
	})
}

// markCancelled records the run in progress, and its steps still running,
// as cancelled, and releases its lock, waiting at most d: the last thing a
// zrun stopped by a second interrupt does, so that `zrun runs` and
// `zrun show` do not say "running" (nor, once its lock is taken over,
// "abandoned").
func (a *app) markCancelled(d time.Duration) {
	a.mu.Lock()
	store, id := a.ledger, a.runID
	a.mu.Unlock()
	if store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		const why = "stopped by a second interrupt"
		store.freeze()
		now := time.Now()
		if steps, err := store.Steps(ctx, id); err == nil {
			var running []*state.Step
			for _, s := range steps {
				if s.Status == state.StatusRunning {
					s.Status, s.Error, s.EndedAt = state.StatusCancelled, why, now
					running = append(running, s)
				}
			}
			if len(running) > 0 {
				_ = store.Store.PutSteps(ctx, running)
			}
		}
		if store.Store.FinishRun(ctx, id, state.StatusCancelled, why, nil, now) == nil {
			_ = store.ForceUnlock(ctx, id)
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// diagError prints diagnostics and returns the configuration exit code,
// or the plugin failure, locked or usage one when that is the cause.
func (a *app) diagError(cfg *dsl.Config, diags hcl.Diagnostics) error {
	a.printDiags(cfg, diags)
	if engine.HasPluginFailure(diags) {
		return &exitError{code: exitPluginFailure}
	}
	if engine.HasLockFailure(diags) {
		return &exitError{code: exitLocked}
	}
	if engine.HasUsageError(diags) {
		return &exitError{code: exitUsage}
	}
	return &exitError{code: exitConfig}
}

func ctxOf(c *cobra.Command) context.Context { return c.Context() }

// logger is zrun's own diagnostics log and the plugins' log lines that
// belong to no single step, on stderr, at the log level.
func (a *app) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "zrun", Level: a.logLevel.level(), Output: a.stderr})
}

func (a *app) pluginStderr() io.Writer {
	if a.logLevel.level() == hclog.Trace {
		return a.stderr
	}
	return nil
}

// nopStore stands in for the ledger when ZRUN_LEDGER=off: only Close is
// ever called on it.
type nopStore struct{ state.Store }

func (nopStore) Close() error { return nil }
