package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
)

// runInstance evaluates and runs one step instance: its condition, its
// target (unless it is one host of a group's), its arguments, then the
// action with retries on the target's host. Condition and target may use
// each.key and each.value, so one element of a for_each can be skipped or
// targeted on its own.
func (x *execution) runInstance(ctx context.Context, data *runData, b *boundStep, inst instance, addr string) (cty.Value, error) {
	start := time.Now()
	sr := &StepResult{Addr: addr, Action: b.actionName()}
	scope := x.r.scope(data, inst.each)
	run, diags := evalWhen(scope, b)
	host, moreDiags := x.instanceHost(scope, b, inst)
	diags = append(diags, moreDiags...)
	if !diags.HasErrors() && !run {
		sr.Status, sr.Error = events.StatusSkipped, "condition is false"
		x.finish(sr)
		return nullOutputs(b.outputType()), nil
	}
	// A resumed run reuses what its main steps recorded; finally and
	// on_failure steps belong to each run's own ending and run again.
	if out, ok := x.done[addr]; ok && !diags.HasErrors() && b.Kind == dsl.StepMain {
		sr.Status, sr.Outputs, sr.Error = events.StatusOK, out, "recorded by the resumed run"
		x.finish(sr)
		x.secrets.add(out)
		return out, nil
	}
	args, moreDiags := evalArgs(scope, b)
	diags = append(diags, moreDiags...)
	if !diags.HasErrors() {
		diags = append(diags, checkConditions(scope, b.Preconditions, true)...)
	}
	if diags.HasErrors() {
		err := x.evalError(diags)
		sr.Status, sr.Error = events.StatusFailed, err.Error()
		x.finish(sr)
		return nullOutputs(b.outputType()), err
	}
	// A value an argument made sensitive (sensitive(...)) is masked in
	// every later step's output too, as a secret is.
	x.secrets.add(args)
	if b.call != nil {
		return x.runCall(ctx, scope, b, args, sr, start)
	}
	// The host's passphrase is read now, so that it is masked with the
	// run's secrets in all the instance says; an error is the attempts'.
	x.targets.resolve(ctx, host)
	mask := x.secrets.masker(args)
	redact := mask.Mask
	info := sdk.RunInfo{RunID: x.id, Workflow: data.wf.Name, Env: x.env.Name, Step: addr}
	var out cty.Value
	var err error
	for attempt := 1; ; attempt++ {
		sr.Attempts = attempt
		x.stepStarted(addr, sr.Action, attempt)
		out, err = x.attemptOn(ctx, host, inst.fanned, b, args, info, mask)
		if err == nil {
			// A postcondition that does not hold fails the attempt (and
			// is retried like any failure); the outputs are kept.
			err = x.postconditions(scope, b, out)
		}
		if err == nil || ctx.Err() != nil || b.Retry == nil || attempt >= b.Retry.Attempts {
			break
		}
		x.ledger.attemptFailed(addr, sr.Action, attempt, redact(err.Error()))
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
		if ce := (*conditionError)(nil); errors.As(err, &ce) {
			sr.Outputs = out
		}
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

// runCall runs a called workflow as a step instance.
func (x *execution) runCall(ctx context.Context, scope *lang.Scope, b *boundStep, args cty.Value, sr *StepResult, start time.Time) (cty.Value, error) {
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
	if err == nil {
		err = x.postconditions(scope, b, out)
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

// postconditions checks a step instance's postcondition blocks against its
// outputs, self.
func (x *execution) postconditions(scope *lang.Scope, b *boundStep, out cty.Value) error {
	if len(b.Postconditions) == 0 {
		return nil
	}
	diags := checkConditions(selfScope(scope, out), b.Postconditions, true)
	if !diags.HasErrors() {
		return nil
	}
	return &conditionError{x.evalError(diags)}
}

// conditionError is a postcondition that does not hold.
type conditionError struct{ err error }

func (e *conditionError) Error() string { return e.err.Error() }
