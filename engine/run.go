package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/secrets"
	"github.com/zrun-dev/zrun/engine/state"
)

// RunRequest says which workflow to run, where, and with what.
type RunRequest struct {
	Workflow string
	Env      string
	// Params are raw command-line values, converted to each param's type.
	Params map[string]string
	// ParamsFiles are the paths of params files (--params-file), read in
	// order under Params: a later file's value replaces an earlier one's,
	// and Params replace both.
	ParamsFiles []string
	// Confirm is asked before a run in a protected environment; nil
	// refuses such a run. Plan never asks.
	Confirm ConfirmFunc
	// RunID names the run; empty for a fresh time-ordered id.
	RunID string
	// LockWait is how long to wait for the environment's lock when another
	// run holds it; 0 fails at once.
	LockWait time.Duration
	// Commit is the project's git commit, recorded with the run (the CLI
	// reads it; "" for none).
	Commit string
	// ResumeOf is the run this one continues (set by Resume).
	ResumeOf string
	// paramsFiles are ParamsFiles already read (by Resume), nil to read them.
	paramsFiles []*dsl.ParamsFile
}

// RunResult is what a run did. Step results are keyed by address
// (step.name, step.name["key"], step.call/step.inner).
type RunResult struct {
	ID       string
	Workflow string
	Env      string
	Status   events.Status
	Error    string
	Outputs  map[string]cty.Value
	// OutputErrors holds, for each output that could not be evaluated,
	// why (masked); those outputs are missing from Outputs, the others
	// are kept, and the run failed.
	OutputErrors map[string]string
	Steps        map[string]*StepResult
	// PluginFailed is true when a step failed because its plugin crashed,
	// hung or could not be reached, rather than reporting a failure.
	PluginFailed bool
	Duration     time.Duration
	// LedgerError is set when the run could not be recorded completely.
	LedgerError string
}

// StepResult is the outcome of one step instance.
type StepResult struct {
	Addr     string
	Action   string
	Status   events.Status
	Attempts int
	Error    string
	Outputs  cty.Value
	Duration time.Duration
}

// Run validates a workflow in an environment and runs it. Diagnostics are
// configuration problems found before anything ran; once steps run, their
// failures are in the result, never in the diagnostics.
func (r *Runner) Run(ctx context.Context, req RunRequest) (*RunResult, hcl.Diagnostics) {
	return r.run(ctx, req, nil)
}

// run runs a workflow; done holds the outputs of step instances a resumed
// run already completed, which are not run again.
func (r *Runner) run(ctx context.Context, req RunRequest, done map[string]cty.Value) (*RunResult, hcl.Diagnostics) {
	wf, diags := r.workflow(req.Workflow)
	if diags.HasErrors() {
		return nil, diags
	}
	// The plugins' processes start now, in the background, so their cold
	// starts overlap validation and reading the secrets.
	wfs := r.callees(wf)
	waitPlugins := r.warmPlugins(ctx, wfs, true)
	// However the run ends, its warm-up is over before Run returns: the
	// caller may close the plugins next.
	defer func() { _ = waitPlugins() }()
	env, params, diags := r.prepare(ctx, wf, req)
	if ctx.Err() != nil {
		return nil, cancelledDiags("Running", wf)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	// Secrets are read before anything runs: a missing one stops the run here.
	secretValues, moreDiags := secrets.Resolve(ctx, r.opts.Config.Dir, env.Secrets(), secrets.Referenced(r.opts.Config, wf, offSteps(wf, env, params)))
	diags = append(diags, moreDiags...)
	diags = append(diags, waitPlugins()...)
	if ctx.Err() != nil {
		return nil, cancelledDiags("Running", wf)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	confirmedBy, moreDiags := r.confirm(ctx, req, wf, env)
	if moreDiags.HasErrors() {
		return nil, append(diags, moreDiags...)
	}
	x := &execution{
		done:         done,
		secretValues: secretValues,
		r:            r,
		id:           req.RunID,
		env:          env,
		started:      time.Now(),
		sem:          make(chan struct{}, r.opts.Parallelism),
		sink:         r.opts.Sink,
		result:       &RunResult{Workflow: wf.Name, Env: env.Name, Steps: map[string]*StepResult{}},
	}
	if x.id == "" {
		x.id = NewRunID(x.started)
	}
	x.result.ID = x.id
	x.targets = r.newHostTargets(env, secretValues, &x.secrets)
	// The run's connections close with it; failing to close one changes
	// nothing the run did.
	defer func() { _ = x.targets.close() }()
	x.secrets.add(cty.ObjectVal(params))
	x.secrets.add(cty.ObjectVal(env.Values()))
	x.secrets.add(cty.ObjectVal(secretValues))

	if r.opts.Ledger != nil {
		unlock, lockDiags := r.lock(ctx, x, wf, env, req.LockWait)
		if lockDiags.HasErrors() {
			return nil, append(diags, lockDiags...)
		}
		defer unlock()
		user, host := whoami()
		l, err := newLedger(ctx, r.opts.Ledger, &state.Run{
			ID: x.id, Workflow: wf.Name, Env: env.Name, Params: displayParams(params),
			User: user, Host: host, PID: os.Getpid(), ConfigHash: r.opts.Config.Hash,
			ResumeOf: req.ResumeOf, ConfirmedBy: confirmedBy, Commit: req.Commit, LockKey: lockKey(wf, env), Status: state.StatusRunning, StartedAt: x.started,
		})
		if err != nil {
			return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot record the run",
				Detail: fmt.Sprintf("The ledger could not record run %s: %s. Nothing ran.", x.id, err)})
		}
		x.ledger = l
		x.sink = events.Multi(r.opts.Sink, x.ledger)
		x.releases = releasesReader(ctx, r.opts.Ledger, env.Name)
	}
	x.sink.Event(events.RunStarted{Time: x.started, RunID: x.id, Workflow: wf.Name, Env: env.Name, Params: displayParams(params)})

	runCtx, stop := withStopCause(ctx)
	defer stop()
	outputs, err := x.runWorkflow(runCtx, wf, params, "")
	res := x.result
	res.Duration = time.Since(x.started)
	res.Outputs = outputs
	switch {
	case err == nil:
		res.Status = events.StatusOK
	case ctx.Err() != nil:
		res.Status, res.Error = events.StatusCancelled, err.Error()
	default:
		res.Status, res.Error = events.StatusFailed, err.Error()
	}
	r.settlePluginLogs(ctx, wfs)
	x.sink.Event(events.RunFinished{Time: time.Now(), RunID: x.id, Status: res.Status, Duration: res.Duration, Error: res.Error, Outputs: displayMap(outputs)})
	if err := x.ledger.finish(res); err != nil {
		res.LedgerError = err.Error()
	}
	return res, diags
}

// errRunCancelled is the cause a cancelled run's steps are stopped with.
var errRunCancelled = errors.New("the run was cancelled")

// withStopCause returns a context that ends when ctx does, with a cause a
// user can read: steps it stops say why in words, never "context
// canceled". A cause ctx gives itself is kept.
func withStopCause(ctx context.Context) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		cause := context.Cause(ctx)
		if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
			cause = errRunCancelled
		}
		cancel(cause)
	})
	return out, func() { stop(); cancel(nil) }
}

// cancelledDiags is what a run or plan cancelled before its steps says,
// in place of what plugins and secret commands cut short said (Go's
// context errors, not news).
func cancelledDiags(doing string, wf *dsl.Workflow) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cancelled",
		Detail: fmt.Sprintf("%s workflow %q was cancelled before it was done; no step ran.", doing, wf.Name)}}
}

// prepare resolves the environment and params, and validates the workflow
// with the real params so nothing runs on a broken config. The workflow's
// plugins are being warmed by the caller.
func (r *Runner) prepare(ctx context.Context, wf *dsl.Workflow, req RunRequest) (*dsl.Environment, map[string]cty.Value, hcl.Diagnostics) {
	files, diags := req.paramsFiles, hcl.Diagnostics(nil)
	if files == nil {
		files, diags = loadParamsFiles(req.ParamsFiles)
	}
	env, moreDiags := r.ResolveEnv(req.Env)
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return nil, nil, diags
	}
	params, moreDiags := resolveParamsFrom(wf, files, req.Params, nil)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	// Validation sees the real params: mask them in what it reports.
	mask := newMasker(sensitiveStrings(cty.ObjectVal(params)))
	for _, d := range r.validateWorkflow(ctx, wf, env, params) {
		md := *d
		md.Summary, md.Detail = mask.Mask(d.Summary), mask.Mask(d.Detail)
		diags = append(diags, &md)
	}
	return env, params, diags
}

// ResolveEnv picks the environment to run in: the named one; with no name,
// the only one there is, or an empty one when the project declares none.
func (r *Runner) ResolveEnv(name string) (*dsl.Environment, hcl.Diagnostics) {
	envs := r.opts.Config.Environments
	switch {
	case len(envs) == 0 && (name == "" || name == "default"):
		return r.defaultEnv(), nil
	case name != "":
		return r.environment(name)
	case len(envs) == 0:
		return r.defaultEnv(), nil
	case len(envs) == 1:
		for _, e := range envs {
			return e, nil
		}
	}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "No environment selected",
		Detail:   "This project has several environments; choose one with --env (or ZRUN_ENV): " + strings.Join(keys(envs), ", ") + ".",
		Extra:    usageError{},
	}}
}

// usageError marks a diagnostic about what the command line left out,
// rather than about the project's files.
type usageError struct{}

// HasUsageError reports whether diags say the command line is incomplete
// (no --env where the project has several environments).
func HasUsageError(diags hcl.Diagnostics) bool { return hasKind[usageError](diags) }

// NewRunID returns a sortable, unique run id: UTC time plus randomness.
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// callees returns wf and every workflow it calls, directly or not.
func (r *Runner) callees(wf *dsl.Workflow) []*dsl.Workflow {
	seen := map[string]bool{}
	var out []*dsl.Workflow
	var visit func(*dsl.Workflow)
	visit = func(wf *dsl.Workflow) {
		if wf == nil || seen[wf.Name] {
			return
		}
		seen[wf.Name] = true
		out = append(out, wf)
		for _, s := range wf.AllSteps() {
			if s.Workflow != "" {
				visit(r.opts.Config.Workflows[s.Workflow])
			}
		}
	}
	visit(wf)
	return out
}
