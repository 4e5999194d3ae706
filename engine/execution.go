package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/dag"
	"github.com/zrun-dev/zrun/engine/events"
)

// execution is the state of one run, shared by the workflows it calls.
type execution struct {
	r       *Runner
	id      string
	env     *dsl.Environment
	started time.Time
	// releases reads run.releases (nil without a ledger).
	releases func() (cty.Value, error)
	sem      chan struct{}

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
	// targets are the hosts the run's steps target, connected on first use.
	targets *hostTargets

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
	data := newRunData(wf, x.env, params, runInfo{ID: x.id, StartedAt: x.started, Releases: x.releases}, stepTypes(wb, x.env, params))
	data.secrets = x.secretValues

	mainCtx := ctx
	var timedOut error
	if wf.Timeout != nil {
		// The timeout is the context's cause, so what it stops says why
		// in words, not as context.DeadlineExceeded.
		timedOut = fmt.Errorf("workflow %q timed out after %s", wf.Name, wf.Timeout.Duration)
		var cancel context.CancelFunc
		mainCtx, cancel = context.WithTimeoutCause(ctx, wf.Timeout.Duration, timedOut)
		defer cancel()
	}
	runErr := x.walk(mainCtx, wb, data, dsl.StepMain, prefix)
	if we := (*walkError)(nil); errors.As(runErr, &we) && timedOut != nil && context.Cause(mainCtx) == timedOut && ctx.Err() == nil {
		runErr = we.timedOut(timedOut)
	}

	// on_failure and finally steps run even after a cancel: they are the
	// cleanup. A second interrupt ends zrun itself.
	after := context.WithoutCancel(ctx)
	data.mu.Lock()
	data.missingAsNull = true
	data.mu.Unlock()
	if runErr != nil {
		if err := x.walk(after, wb, data, dsl.StepOnFailure, prefix); err != nil {
			runErr = andErr(runErr, fmt.Errorf("on_failure: %w", err))
		}
	}
	if err := x.walk(after, wb, data, dsl.StepFinally, prefix); err != nil {
		runErr = andErr(runErr, fmt.Errorf("finally: %w", err))
	}

	outputs, failed := x.outputs(wf, data)
	if prefix == "" && len(failed) > 0 {
		x.mu.Lock()
		x.result.OutputErrors = failed
		x.mu.Unlock()
	}
	for _, name := range wf.OutputOrder {
		if msg, ok := failed[name]; ok {
			runErr = andErr(runErr, fmt.Errorf("output %q: %s", name, msg))
		}
	}
	return outputs, runErr
}

// andErr is err followed by more, "; " between them.
func andErr(err, more error) error {
	if err == nil {
		return more
	}
	return fmt.Errorf("%w; %w", err, more)
}

// outputs evaluates a workflow's outputs each on its own, so that one that
// cannot be evaluated (a for over a step with a null instance) costs only
// itself. It returns those it could evaluate, and the reason of each other
// one, masked.
func (x *execution) outputs(wf *dsl.Workflow, data *runData) (map[string]cty.Value, map[string]string) {
	outputs := map[string]cty.Value{}
	var failed map[string]string
	for _, name := range wf.OutputOrder {
		o := wf.Outputs[name]
		v, diags := x.r.scope(data, nil).EvalExpr(o.Value, cty.DynamicPseudoType)
		if diags.HasErrors() {
			if failed == nil {
				failed = map[string]string{}
			}
			failed[name] = x.evalError(diags).Error()
			continue
		}
		if o.Sensitive {
			v = v.Mark(sensitiveMark)
		}
		outputs[name] = v
	}
	return outputs, failed
}

// walk runs one set of steps along its DAG. Its error, if any, is a
// *walkError.
func (x *execution) walk(ctx context.Context, wb *workflowBinding, data *runData, kind dsl.StepKind, prefix string) error {
	g, diags := buildGraph(wb, kind)
	if diags.HasErrors() {
		return diagsError(diags)
	}
	if g.Len() == 0 {
		return nil
	}
	pipes, err := openPipes(wb, kind, data)
	if err != nil {
		return err
	}
	defer pipes.close()
	var mu sync.Mutex
	stopped := map[dag.Vertex]bool{}
	res := g.Walk(ctx, func(ctx context.Context, v dag.Vertex) error {
		stepCtx, ended := pipes.started(ctx, v.(*boundStep))
		err := x.runStep(stepCtx, data, v.(*boundStep), prefix)
		ended(err)
		if err != nil && ctx.Err() != nil {
			mu.Lock()
			stopped[v] = true
			mu.Unlock()
		}
		return err
	})
	we := &walkError{}
	for v, err := range res.Errors {
		we.failed = append(we.failed, stepFailure{addr: prefix + dag.VertexName(v), err: err.Error(), stopped: stopped[v]})
	}
	for v, cause := range res.Skipped {
		b := v.(*boundStep)
		// The status says skipped: the error says only why.
		sr := &StepResult{Addr: prefix + b.Name(), Action: b.actionName(), Status: events.StatusSkipped}
		switch {
		// Once the walk's ctx ended (Ctrl-C, the workflow's timeout), a step
		// that did not start did not because of that, whichever its
		// dependency's end the walker saw first.
		case cause != nil && ctx.Err() == nil:
			sr.Error = prefix + dag.VertexName(cause) + " did not succeed"
		default:
			sr.Status, sr.Error = events.StatusCancelled, "not started: "+stopCause(ctx)
		}
		data.setStep(b.Step.Name, nullOutputs(b.outputType()))
		x.finish(sr)
	}
	if len(we.failed) == 0 && len(res.Skipped) == 0 {
		return nil
	}
	slices.SortFunc(we.failed, func(a, b stepFailure) int { return strings.Compare(a.addr, b.addr) })
	return we
}

// walkError is what went wrong in a walk: each step that failed, in
// address order.
type walkError struct{ failed []stepFailure }

// stepFailure is one failed step of a walk; stopped means the end of the
// walk's context stopped it.
type stepFailure struct {
	addr, err string
	stopped   bool
}

func (e *walkError) Error() string {
	if len(e.failed) == 0 {
		return "cancelled"
	}
	msgs := make([]string, len(e.failed))
	for i, f := range e.failed {
		msgs[i] = f.addr + ": " + f.err
	}
	return strings.Join(msgs, "; ")
}

// timedOut is the error of a walk its timeout ended: the timeout and the
// steps it stopped, then the failures it did not cause.
func (e *walkError) timedOut(timeout error) error {
	var stopped, failed []string
	for _, f := range e.failed {
		if f.stopped {
			stopped = append(stopped, f.addr)
		} else {
			failed = append(failed, f.addr+": "+f.err)
		}
	}
	msg := timeout.Error()
	if len(stopped) > 0 {
		msg += " (stopped " + strings.Join(stopped, ", ") + ")"
	}
	return errors.New(strings.Join(append([]string{msg}, failed...), "; "))
}

// stopCause says in words why ctx ended: a timeout names itself as the
// cause; anything else is a cancelled run.
func stopCause(ctx context.Context) string {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return errRunCancelled.Error()
	}
	return cause.Error()
}

// runStep runs one step: its instances (one, one per for_each element,
// concurrently, or one per host of the group its target names, see
// runFanout), and records its value for dependents.
func (x *execution) runStep(ctx context.Context, data *runData, b *boundStep, prefix string) error {
	addr := prefix + b.Name()
	if t, ok := x.groupTarget(data, b); ok {
		return x.runFanout(ctx, data, b, addr, t)
	}
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
			outs[i], errs[i] = x.runInstance(ctx, data, b, inst, instanceAddr(addr, inst.key))
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
