package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/dag"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/secrets"
	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/sdk"
)

// RunRequest says which workflow to run, where, and with what.
type RunRequest struct {
	Workflow string
	Env      string
	// Params are raw command-line values, converted to each param's type.
	Params map[string]string
	// RunID names the run; empty for a fresh time-ordered id.
	RunID string
	// LockWait is how long to wait for the environment's lock when another
	// run holds it; 0 fails at once.
	LockWait time.Duration
	// ResumeOf is the run this one continues (set by Resume).
	ResumeOf string
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
	Steps    map[string]*StepResult
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
	waitPlugins := func() hcl.Diagnostics { return nil }
	if wf, diags := r.workflow(req.Workflow); !diags.HasErrors() {
		waitPlugins = r.startPlugins(ctx, r.callees(wf))
	}
	wf, env, params, diags := r.prepare(ctx, req)
	if diags.HasErrors() {
		return nil, diags
	}
	// Secrets are read before anything runs: a missing one stops the run here.
	secretValues, moreDiags := secrets.Resolve(ctx, r.opts.Config.Dir, env.Secrets, secrets.Referenced(r.opts.Config, wf))
	diags = append(diags, moreDiags...)
	diags = append(diags, waitPlugins()...)
	if diags.HasErrors() {
		return nil, diags
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
	x.secrets.add(cty.ObjectVal(params))
	x.secrets.add(cty.ObjectVal(env.Values))
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
			ResumeOf: req.ResumeOf, LockKey: lockKey(wf, env), Status: state.StatusRunning, StartedAt: x.started,
		})
		if err != nil {
			return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot record the run",
				Detail: fmt.Sprintf("The ledger could not record run %s: %s. Nothing ran.", x.id, err)})
		}
		x.ledger = l
		x.sink = events.Multi(r.opts.Sink, x.ledger)
	}
	x.sink.Event(events.RunStarted{Time: x.started, RunID: x.id, Workflow: wf.Name, Env: env.Name, Params: displayParams(params)})

	outputs, err := x.runWorkflow(ctx, wf, params, "")
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
	x.sink.Event(events.RunFinished{Time: time.Now(), RunID: x.id, Status: res.Status, Duration: res.Duration, Error: res.Error, Outputs: displayMap(outputs)})
	if err := x.ledger.finish(res); err != nil {
		res.LedgerError = err.Error()
	}
	return res, diags
}

// prepare resolves the workflow, environment and params, and validates
// the workflow with the real params so nothing runs on a broken config.
func (r *Runner) prepare(ctx context.Context, req RunRequest) (*dsl.Workflow, *dsl.Environment, map[string]cty.Value, hcl.Diagnostics) {
	wf, diags := r.workflow(req.Workflow)
	env, moreDiags := r.ResolveEnv(req.Env)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	params, moreDiags := resolveParams(wf, req.Params, nil)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	r.prefetch(ctx, r.callees(wf)...)
	// Validation sees the real params: mask them in what it reports.
	mask := newMasker(sensitiveStrings(cty.ObjectVal(params)))
	for _, d := range r.validateWorkflow(ctx, wf, env, params) {
		md := *d
		md.Summary, md.Detail = mask.Mask(d.Summary), mask.Mask(d.Detail)
		diags = append(diags, &md)
	}
	return wf, env, params, diags
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
	}}
}

// NewRunID returns a sortable, unique run id: UTC time plus randomness.
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// execution is the state of one run, shared by the workflows it calls.
type execution struct {
	r       *Runner
	id      string
	env     *dsl.Environment
	started time.Time
	sem     chan struct{}

	// secrets are the sensitive strings met so far, masked in every
	// step's logs, errors and outputs.
	secrets secretSet
	// sink receives the run's events: the caller's sink and the ledger.
	sink   events.Sink
	ledger *ledger // nil without a store
	// done are the recorded outputs of instances a resumed run completed.
	done map[string]cty.Value
	// secretValues are the resolved secrets the run's workflows reference.
	secretValues map[string]cty.Value

	mu     sync.Mutex
	result *RunResult
}

func (x *execution) record(sr *StepResult) {
	x.mu.Lock()
	x.result.Steps[sr.Addr] = sr
	x.mu.Unlock()
}

// runWorkflow runs a workflow's main steps, then on_failure steps if any
// failed, then finally steps, and returns its outputs. prefix is the
// calling step's address plus "/" for called workflows.
func (x *execution) runWorkflow(ctx context.Context, wf *dsl.Workflow, params map[string]cty.Value, prefix string) (map[string]cty.Value, error) {
	wb, diags := x.r.bind(ctx, wf)
	if diags.HasErrors() {
		return nil, diagsError(diags)
	}
	data := newRunData(wf, x.env, params, runInfo{ID: x.id, StartedAt: x.started}, wb.stepType)
	data.secrets = x.secretValues

	mainCtx := ctx
	if wf.Timeout != nil {
		var cancel context.CancelFunc
		mainCtx, cancel = context.WithTimeout(ctx, wf.Timeout.Duration)
		defer cancel()
	}
	runErr := x.walk(mainCtx, wb, data, dsl.StepMain, prefix)
	if runErr != nil && mainCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		runErr = fmt.Errorf("workflow %q timed out after %s: %w", wf.Name, wf.Timeout.Duration, runErr)
	}

	// on_failure and finally steps run even after a cancel: they are the
	// cleanup. A second interrupt ends zrun itself.
	after := context.WithoutCancel(ctx)
	data.mu.Lock()
	data.missingAsNull = true
	data.mu.Unlock()
	if runErr != nil {
		if err := x.walk(after, wb, data, dsl.StepOnFailure, prefix); err != nil {
			runErr = fmt.Errorf("%w; on_failure: %v", runErr, err)
		}
	}
	if err := x.walk(after, wb, data, dsl.StepFinally, prefix); err != nil {
		if runErr == nil {
			runErr = fmt.Errorf("finally: %w", err)
		} else {
			runErr = fmt.Errorf("%w; finally: %v", runErr, err)
		}
	}

	outputs := map[string]cty.Value{}
	for _, name := range wf.OutputOrder {
		o := wf.Outputs[name]
		v, diags := x.r.scope(data, nil).EvalExpr(o.Value, cty.DynamicPseudoType)
		if diags.HasErrors() {
			if runErr == nil {
				runErr = fmt.Errorf("output %q: %w", name, x.evalError(diags))
			}
			continue
		}
		if o.Sensitive {
			v = v.Mark(sensitiveMark)
		}
		outputs[name] = v
	}
	return outputs, runErr
}

// walk runs one set of steps along its DAG.
func (x *execution) walk(ctx context.Context, wb *workflowBinding, data *runData, kind dsl.StepKind, prefix string) error {
	g, diags := buildGraph(wb, kind)
	if diags.HasErrors() {
		return diagsError(diags)
	}
	if g.Len() == 0 {
		return nil
	}
	res := g.Walk(ctx, func(ctx context.Context, v dag.Vertex) error {
		return x.runStep(ctx, data, v.(*boundStep), prefix)
	})
	var failed []string
	for v, err := range res.Errors {
		failed = append(failed, fmt.Sprintf("%s%s: %s", prefix, dag.VertexName(v), err))
	}
	for v, cause := range res.Skipped {
		b := v.(*boundStep)
		sr := &StepResult{Addr: prefix + b.Name(), Action: b.actionName(), Status: events.StatusSkipped}
		switch {
		case cause != nil:
			sr.Error = "skipped: " + dag.VertexName(cause) + " did not succeed"
		default:
			sr.Status, sr.Error = events.StatusCancelled, "not started: the run was cancelled"
		}
		data.setStep(b.Step.Name, nullOutputs(b.outputType()))
		x.finish(sr)
	}
	if len(failed) == 0 && len(res.Skipped) == 0 {
		return nil
	}
	sort.Strings(failed)
	if len(failed) == 0 {
		return errors.New("cancelled")
	}
	return errors.New(strings.Join(failed, "; "))
}

// runStep runs one step: its instances (one, or one per for_each
// element, concurrently), and records its value for dependents.
func (x *execution) runStep(ctx context.Context, data *runData, b *boundStep, prefix string) error {
	addr := prefix + b.Name()
	insts, _, diags := evalForEach(x.r.scope(data, nil), b)
	if diags.HasErrors() {
		err := x.evalError(diags)
		x.finish(&StepResult{Addr: addr, Action: b.actionName(), Status: events.StatusFailed, Error: err.Error()})
		data.setStep(b.Step.Name, nullOutputs(b.outputType()))
		return err
	}
	if b.ForEach == nil {
		out, err := x.runInstance(ctx, data, b, instance{}, addr)
		data.setStep(b.Step.Name, out)
		return x.stepErr(b, err)
	}
	if len(insts) == 0 {
		x.finish(&StepResult{Addr: addr, Action: b.actionName(), Status: events.StatusSkipped, Error: "for_each is empty"})
		data.setStep(b.Step.Name, cty.EmptyObjectVal)
		return nil
	}
	outs := make([]cty.Value, len(insts))
	errs := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, inst := range insts {
		wg.Go(func() {
			outs[i], errs[i] = x.runInstance(ctx, data, b, inst, fmt.Sprintf("%s[%q]", addr, inst.key))
		})
	}
	wg.Wait()
	byKey := map[string]cty.Value{}
	for i, inst := range insts {
		byKey[inst.key] = outs[i]
	}
	data.setStep(b.Step.Name, instancesValue(byKey))
	return x.stepErr(b, errors.Join(errs...))
}

// evalError is the error of a step whose expressions failed at run time,
// with the run's secrets masked: function errors quote their arguments
// (tonumber(secret.x) says what it could not convert).
func (x *execution) evalError(diags hcl.Diagnostics) error {
	return errors.New(x.secrets.masker(cty.NilVal).Mask(diagsError(diags).Error()))
}

// stepErr applies continue_on_error: the failure is recorded, but the
// walk goes on as if the step succeeded.
func (x *execution) stepErr(b *boundStep, err error) error {
	if b.ContinueOnError {
		return nil
	}
	return err
}

// runInstance evaluates and runs one step instance: its condition, its
// target, its arguments, then the action with retries. Condition and
// target may use each.key and each.value, so one host of a for_each can
// be skipped or targeted on its own.
func (x *execution) runInstance(ctx context.Context, data *runData, b *boundStep, inst instance, addr string) (cty.Value, error) {
	start := time.Now()
	sr := &StepResult{Addr: addr, Action: b.actionName()}
	scope := x.r.scope(data, inst.each)
	run, diags := evalWhen(scope, b)
	target, moreDiags := evalTarget(scope, b, x.env.Hosts)
	diags = append(diags, moreDiags...)
	if !diags.HasErrors() && !run {
		sr.Status, sr.Error = events.StatusSkipped, "condition is false"
		x.finish(sr)
		return nullOutputs(b.outputType()), nil
	}
	if !diags.HasErrors() && target != "" {
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Remote targets are not available yet",
			Detail:  fmt.Sprintf("Step %s targets host %q; running steps on remote hosts needs the ssh communicator, which this version of zrun does not have yet.", addr, target),
			Subject: b.Target.Range().Ptr()})
	}
	if out, ok := x.done[addr]; ok && !diags.HasErrors() {
		sr.Status, sr.Outputs, sr.Error = events.StatusOK, out, "recorded by the resumed run"
		x.finish(sr)
		x.secrets.add(out)
		return out, nil
	}
	args, moreDiags := evalArgs(scope, b)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		err := x.evalError(diags)
		sr.Status, sr.Error = events.StatusFailed, err.Error()
		x.finish(sr)
		return nullOutputs(b.outputType()), err
	}
	if b.call != nil {
		return x.runCall(ctx, b, args, sr, start)
	}
	mask := x.secrets.masker(args)
	redact := mask.Mask
	info := sdk.RunInfo{RunID: x.id, Workflow: data.wf.Name, Env: x.env.Name, Step: addr}
	var out cty.Value
	var err error
	for attempt := 1; ; attempt++ {
		sr.Attempts = attempt
		x.stepStarted(addr, sr.Action, attempt)
		out, err = x.attempt(ctx, b, args, info, mask)
		if err == nil || ctx.Err() != nil || b.Retry == nil || attempt >= b.Retry.Attempts {
			break
		}
		delay := retryDelay(b.Retry, attempt)
		x.sink.Event(events.StepLog{Time: time.Now(), Step: addr, Stream: "log",
			Line: redact(fmt.Sprintf("attempt %d of %d failed: %s; retrying in %s", attempt, b.Retry.Attempts, err, delay))})
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	sr.Duration = time.Since(start)
	switch {
	case err == nil:
		sr.Status, sr.Outputs = events.StatusOK, out
	case ctx.Err() != nil:
		sr.Status, sr.Error = events.StatusCancelled, redact(err.Error())
	default:
		sr.Status, sr.Error = events.StatusFailed, redact(err.Error())
		if pe := (*pluginError)(nil); errors.As(err, &pe) {
			x.mu.Lock()
			x.result.PluginFailed = true
			x.mu.Unlock()
		}
	}
	x.finish(sr)
	if err != nil {
		return nullOutputs(b.outputType()), errors.New(sr.Error)
	}
	return out, nil
}

// attempt runs an action once, holding a parallelism slot.
func (x *execution) attempt(ctx context.Context, b *boundStep, args cty.Value, info sdk.RunInfo, mask *masker) (cty.Value, error) {
	select {
	case x.sem <- struct{}{}:
	case <-ctx.Done():
		return cty.NilVal, ctx.Err()
	}
	defer func() { <-x.sem }()
	if b.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.Timeout.Duration)
		defer cancel()
	}
	ui := newStepUI(x.sink, info, x.r.opts.Local, mask.Mask)
	resp, err := b.client.RunAction(ctx, b.Action.Name, &sdk.RunRequest{Args: args, Info: info, Target: x.r.opts.Local, UI: ui})
	ui.flush()
	switch {
	case ctx.Err() == context.DeadlineExceeded && b.Timeout != nil:
		return cty.NilVal, fmt.Errorf("timed out after %s: plugin %q did not finish %s in time", b.Timeout.Duration, b.Action.Plugin, b.Action)
	case ctx.Err() != nil:
		return cty.NilVal, fmt.Errorf("cancelled: %w", context.Cause(ctx))
	case err != nil:
		return cty.NilVal, &pluginError{plugin: b.Action.Plugin, msg: err.Error()}
	case resp == nil:
		return cty.NilVal, &pluginError{plugin: b.Action.Plugin, msg: "no response"}
	case resp.Diagnostics.HasErrors():
		for _, d := range resp.Diagnostics {
			if d.Summary == "Plugin panicked" {
				return cty.NilVal, &pluginError{plugin: b.Action.Plugin, msg: "panicked: " + firstLine(d.Detail)}
			}
		}
		return cty.NilVal, resp.Diagnostics.Err()
	}
	out := mask.MarkOutputs(markSensitive(resp.Outputs, b.action.Outputs))
	x.secrets.add(out)
	return out, nil
}

// runCall runs a called workflow as a step instance.
func (x *execution) runCall(ctx context.Context, b *boundStep, args cty.Value, sr *StepResult, start time.Time) (cty.Value, error) {
	x.stepStarted(sr.Addr, sr.Action, 1)
	sr.Attempts = 1
	params, diags := resolveParams(b.call, nil, args.AsValueMap())
	var outputs map[string]cty.Value
	var err error
	if diags.HasErrors() {
		err = diagsError(diags)
	} else {
		outputs, err = x.runWorkflow(ctx, b.call, params, sr.Addr+"/")
	}
	sr.Duration = time.Since(start)
	out := cty.EmptyObjectVal
	if len(outputs) > 0 {
		out = cty.ObjectVal(outputs)
	}
	switch {
	case err == nil:
		sr.Status, sr.Outputs = events.StatusOK, out
	case ctx.Err() != nil:
		sr.Status, sr.Error = events.StatusCancelled, err.Error()
	default:
		sr.Status, sr.Error = events.StatusFailed, err.Error()
	}
	x.finish(sr)
	return out, err
}

// stepStarted announces an attempt and records it in the ledger.
func (x *execution) stepStarted(addr, action string, attempt int) {
	now := time.Now()
	x.ledger.stepStarted(addr, action, attempt, now)
	x.sink.Event(events.StepStarted{Time: now, Step: addr, Action: action, Attempt: attempt})
}

// finish records a step result and announces it.
func (x *execution) finish(sr *StepResult) {
	x.record(sr)
	x.ledger.stepFinished(sr, time.Now().Add(-sr.Duration))
	var outputs map[string]any
	if sr.Outputs != cty.NilVal && sr.Outputs.Type().IsObjectType() && !sr.Outputs.IsNull() {
		outputs = displayMap(sr.Outputs.AsValueMap())
	}
	x.sink.Event(events.StepFinished{Time: time.Now(), Step: sr.Addr, Status: sr.Status, Attempt: sr.Attempts,
		Duration: sr.Duration, Error: sr.Error, Outputs: outputs})
}

// retryDelay is the wait before attempt n+1: delay * backoff^(n-1), capped.
func retryDelay(r *dsl.Retry, n int) time.Duration {
	d := float64(r.Delay.Duration)
	for i := 1; i < n; i++ {
		d *= r.Backoff
	}
	if r.MaxDelay != nil && d > float64(r.MaxDelay.Duration) {
		d = float64(r.MaxDelay.Duration)
	}
	return time.Duration(d)
}

func diagsError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags.Errs() {
		msgs = append(msgs, d.Error())
	}
	return errors.New(strings.Join(msgs, "; "))
}

// pluginError is a failure of the plugin itself (crash, hang, broken
// wire), as opposed to an action reporting that its work failed.
type pluginError struct{ plugin, msg string }

func (e *pluginError) Error() string {
	if strings.Contains(e.msg, fmt.Sprintf("plugin %q", e.plugin)) {
		return e.msg // the plugins package named it already
	}
	return fmt.Sprintf("plugin %q failed: %s", e.plugin, e.msg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// instancesValue is the value of a for_each step: a map of instance key to
// outputs, or an object when instances' outputs differ in type (called
// workflows), so both step.x["key"] and length(step.x) work.
func instancesValue(byKey map[string]cty.Value) cty.Value {
	if len(byKey) == 0 {
		return cty.EmptyObjectVal
	}
	var ty cty.Type
	for _, v := range byKey {
		if ty == cty.NilType {
			ty = v.Type()
		} else if !ty.Equals(v.Type()) {
			return cty.ObjectVal(byKey)
		}
	}
	return cty.MapVal(byKey)
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
