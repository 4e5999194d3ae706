package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

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

	interrupted atomic.Bool

	mu       sync.Mutex
	managers []*plugins.Manager
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
		a.pluginsCmd(),
		a.versionCmd(),
		a.runsCmd(),
		a.showCmd(),
		a.logsCmd(),
		a.unlockCmd(),
		a.resumeCmd(),
		a.ledgerCmd(),
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

// manager starts (lazily) the plugins a project uses.
func (a *app) manager(cfg *dsl.Config) (*plugins.Manager, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	lock, diags := plugins.ReadLock(filepath.Join(cfg.Dir, plugins.LockFileName))
	if diags.HasErrors() {
		return nil, a.diagError(cfg, diags)
	}
	cacheDir := filepath.Join(cfg.Dir, ".zrun", "cache", "plugins")
	if os.Getenv("ZRUN_PLUGIN_CACHE") == "off" {
		cacheDir = ""
	}
	m := plugins.NewManager(plugins.Options{
		CacheDir:   cacheDir,
		Builtins:   builtins,
		SelfExe:    self,
		SearchDirs: plugins.SearchDirs(cfg.Dir),
		Lock:       lock,
		Logger:     a.logger(),
		// A plugin's raw stderr is noise on the terminal: its last lines
		// are already part of any error about it. ZRUN_LOG shows it all.
		Stderr: pluginStderr(a.stderr),
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
	opts.Ledger = store
	return engine.New(opts), store, nil
}

// diagError prints diagnostics and returns the configuration exit code,
// or the plugin failure one when a plugin is at fault.
func (a *app) diagError(cfg *dsl.Config, diags hcl.Diagnostics) error {
	a.printDiags(cfg, diags)
	if engine.HasPluginFailure(diags) {
		return &exitError{code: exitPluginFailure}
	}
	if engine.HasLockFailure(diags) {
		return &exitError{code: exitLocked}
	}
	return &exitError{code: exitConfig}
}

func ctxOf(c *cobra.Command) context.Context { return c.Context() }

// logger is zrun's own diagnostics log, on stderr.
func (a *app) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "zrun", Level: logLevel(), Output: a.stderr})
}

// logLevel is the level of zrun's own diagnostics log (plugin processes
// starting and stopping): $ZRUN_LOG (trace, debug, info, warn, error),
// errors only by default.
func logLevel() hclog.Level {
	if l := hclog.LevelFromString(os.Getenv("ZRUN_LOG")); l != hclog.NoLevel {
		return l
	}
	return hclog.Error
}

func pluginStderr(w io.Writer) io.Writer {
	if logLevel() <= hclog.Debug {
		return w
	}
	return nil
}

// nopStore stands in for the ledger when ZRUN_LEDGER=off: only Close is
// ever called on it.
type nopStore struct{ state.Store }

func (nopStore) Close() error { return nil }
