package engine

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// Plugins hands out a client per plugin name. plugins.Manager implements
// it by starting processes; engine tests implement it in process.
type Plugins interface {
	Client(ctx context.Context, name string) (sdk.Client, error)
}

// Options configure a Runner.
type Options struct {
	Config  *dsl.Config
	Plugins Plugins
	// Sink receives the run's events; nil discards them.
	Sink events.Sink
	// Parallelism caps how many actions run at once; <= 0 means the number
	// of CPUs times four (most steps wait on processes or the network).
	Parallelism int
	// Local is the target for steps without one; nil means the machine
	// zrun runs on.
	Local sdk.Target
	// Targets opens the pool a run (or a plan) reaches its hosts through,
	// when its first step targets a host; the pool is closed when the run
	// ends. nil means engine/targets' SSH pool.
	Targets func() TargetPool
	// Ledger records runs and holds their locks; nil records nothing and
	// locks nothing.
	Ledger state.Store
}

// Runner validates, plans and runs the workflows of one project. One Runner
// serves one command invocation; it caches plugin schemas.
type Runner struct {
	opts Options

	mu      sync.Mutex
	schemas map[string]*schemaResult
}

type schemaResult struct {
	once   sync.Once
	schema *schema.Plugin
	client sdk.Client
	err    error
}

// New returns a Runner.
func New(opts Options) *Runner {
	if opts.Sink == nil {
		opts.Sink = events.Discard
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.NumCPU() * 4
	}
	if opts.Local == nil {
		opts.Local = local.Target()
	}
	if opts.Targets == nil {
		opts.Targets = newTargetPool
	}
	return &Runner{opts: opts, schemas: map[string]*schemaResult{}}
}

// Config returns the project the runner works on.
func (r *Runner) Config() *dsl.Config { return r.opts.Config }

// pluginSchema returns a plugin's client and schema, starting the plugin on
// first use. Concurrent callers share one fetch.
func (r *Runner) pluginSchema(ctx context.Context, name string) (sdk.Client, *schema.Plugin, error) {
	r.mu.Lock()
	res, ok := r.schemas[name]
	if !ok {
		res = &schemaResult{}
		r.schemas[name] = res
	}
	r.mu.Unlock()
	res.once.Do(func() {
		res.client, res.err = r.opts.Plugins.Client(ctx, name)
		if res.err != nil {
			return
		}
		res.schema, res.err = res.client.GetSchema(ctx)
	})
	return res.client, res.schema, res.err
}

// workflow looks a workflow up, with a diagnostic naming the ones there are.
func (r *Runner) workflow(name string) (*dsl.Workflow, hcl.Diagnostics) {
	wf, ok := r.opts.Config.Workflows[name]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown workflow",
			Detail:   "There is no workflow " + quote(name) + " in this project. " + suggest(name, keys(r.opts.Config.Workflows), "workflows"),
		}}
	}
	return wf, nil
}

// environment looks an environment up, with a diagnostic naming the ones there are.
func (r *Runner) environment(name string) (*dsl.Environment, hcl.Diagnostics) {
	env, ok := r.opts.Config.Environments[name]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown environment",
			Detail:   "There is no environment " + quote(name) + " in this project. " + suggest(name, keys(r.opts.Config.Environments), "environments"),
		}}
	}
	return env, nil
}

// starter is a plugin client that can start its process before its first
// call (package plugins' clients can, and otherwise start on the first
// call their cache cannot answer).
type starter interface {
	Start(ctx context.Context) error
}

// warmPlugins fetches, all at once and in the background, the schemas of
// the plugins that workflows use, so that several plugins' cold starts
// overlap one another (and, for a run, validation) instead of queueing.
// Errors fetching a schema are left for bind to report where the plugin is
// named. With start, a run is coming: each plugin's process is started too,
// even when its answers are cached, and the returned function waits for
// them and reports each plugin that could not be started, so that nothing
// runs unless they all are. Without start it waits and reports nothing.
func (r *Runner) warmPlugins(ctx context.Context, wfs []*dsl.Workflow, start bool) func() hcl.Diagnostics {
	names := pluginNames(wfs)
	errs := make(map[string]error, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name := range names {
		wg.Go(func() {
			c, _, err := r.pluginSchema(ctx, name)
			if !start {
				return
			}
			// A client whose schema could not be fetched is not started.
			if s, ok := c.(starter); err == nil && ok {
				err = s.Start(ctx)
			}
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	return func() hcl.Diagnostics {
		wg.Wait()
		var diags hcl.Diagnostics
		for _, name := range keys(names) {
			if errs[name] == nil {
				continue
			}
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Plugin unavailable",
				Detail:   fmt.Sprintf("Plugin %q could not be started, so nothing was run: %s", name, errs[name]),
				Extra:    pluginFailure{},
			}
			if s := firstStepOf(wfs, name); s != nil {
				d.Subject = s.Action.Range.Ptr()
			}
			diags = append(diags, d)
		}
		return diags
	}
}

// firstStepOf returns the first step of workflows that uses plugin.
func firstStepOf(wfs []*dsl.Workflow, plugin string) *dsl.Step {
	for _, wf := range wfs {
		for _, s := range wf.AllSteps() {
			if s.Action != nil && s.Action.Plugin == plugin {
				return s
			}
		}
	}
	return nil
}

// pluginNames returns the plugins the steps of workflows use.
func pluginNames(wfs []*dsl.Workflow) map[string]bool {
	names := map[string]bool{}
	for _, wf := range wfs {
		for _, s := range wf.AllSteps() {
			if s.Action != nil {
				names[s.Action.Plugin] = true
			}
		}
	}
	return names
}

// logSettler is a plugin client whose log lines travel apart from its
// answers (package plugins' clients: a plugin's stderr), and which can
// wait for the last of them.
type logSettler interface {
	SettleLogs(ctx context.Context)
}

// settlePluginLogs lets the run's plugins deliver the log lines their
// steps wrote last, all at once, so that they are recorded with their
// steps before the run ends.
func (r *Runner) settlePluginLogs(ctx context.Context, wfs []*dsl.Workflow) {
	var wg sync.WaitGroup
	for name := range pluginNames(wfs) {
		r.mu.Lock()
		res := r.schemas[name]
		r.mu.Unlock()
		if res == nil {
			continue
		}
		res.once.Do(func() {}) // done already: orders the read of res.client after it
		if s, ok := res.client.(logSettler); ok {
			wg.Go(func() { s.SettleLogs(ctx) })
		}
	}
	wg.Wait()
}
