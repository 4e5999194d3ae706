package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/engine/events"
)

// groupTarget returns the group a step without for_each targets, if it
// targets one. A target that does not evaluate is left to runInstance,
// which reports it as the step's failure.
func (x *execution) groupTarget(data *runData, b *boundStep) (stepTarget, bool) {
	if b.Target == nil || b.ForEach != nil {
		return stepTarget{}, false
	}
	t, diags := evalTarget(x.r.scope(data, nil), b, x.env)
	return t, !diags.HasErrors() && t.group != ""
}

// fanoutOf is a step's fan-out, its arguments' or the default.
func fanoutOf(b *boundStep) *dsl.Fanout {
	if b.Fanout != nil {
		return b.Fanout
	}
	return dsl.DefaultFanout()
}

// runFanout runs a step on every host of the group it targets: one
// instance per host (step.NAME["HOST"]), at most parallel at once, batch
// by batch. Once more hosts have failed than the step tolerates, the
// hosts of later batches are not started, each reported with why. The
// step's value is a map of host to outputs, as for_each's; it fails when
// more hosts failed than it tolerates.
func (x *execution) runFanout(ctx context.Context, data *runData, b *boundStep, addr string, t stepTarget) error {
	if len(t.hosts) == 0 {
		x.finish(&StepResult{Addr: addr, Action: b.actionName(), Status: events.StatusSkipped,
			Error: fmt.Sprintf("group %q has no hosts in environment %q", t.group, x.env.Name)})
		data.setStep(b.Step.Name, cty.EmptyObjectVal)
		return nil
	}
	f := fanoutOf(b)
	tolerated := f.Tolerated(len(t.hosts))
	fo := &fanoutRun{outs: make(map[string]cty.Value, len(t.hosts)), errs: map[string]error{}, slots: make(chan struct{}, f.Parallel)}
	batches := f.Batches(t.hosts)
	cancelled := false
	for i, batch := range batches {
		later := slices.Concat(batches[i+1:]...)
		if ctx.Err() != nil {
			x.notStarted(b, addr, slices.Concat(batch, later), fo.outs, events.StatusCancelled, "not started: "+stopCause(ctx))
			cancelled = true
			break
		}
		if len(fo.errs) > tolerated {
			x.notStarted(b, addr, slices.Concat(batch, later), fo.outs, events.StatusSkipped,
				fmt.Sprintf("not started: %d of %d hosts failed in earlier batches, more than %s", len(fo.errs), len(t.hosts), toleranceText(f, tolerated)))
			break
		}
		if started := x.runBatch(ctx, data, b, addr, batch, fo); started < len(batch) {
			x.notStarted(b, addr, slices.Concat(batch[started:], later), fo.outs, events.StatusCancelled, "not started: "+stopCause(ctx))
			cancelled = true
			break
		}
	}
	data.setStep(b.Step.Name, instancesValue(fo.outs))
	switch {
	case len(fo.errs) > tolerated:
		var errs []error
		for _, host := range t.hosts {
			if err, ok := fo.errs[host]; ok {
				errs = append(errs, fmt.Errorf("%s: %w", host, err))
			}
		}
		return x.stepErr(b, fmt.Errorf("%d of %d hosts of group %q failed, more than %s: %w",
			len(fo.errs), len(t.hosts), t.group, toleranceText(f, tolerated), errors.Join(errs...)))
	case cancelled:
		return stopError(ctx) // hosts that did not start did not succeed
	}
	return nil
}

// fanoutRun is what the batches of one fan-out share: the hosts' values
// and errors so far, under mu while a batch runs, and the slots that cap
// how many run.
type fanoutRun struct {
	slots chan struct{}
	mu    sync.Mutex
	outs  map[string]cty.Value
	errs  map[string]error // by host, for those that failed
}

// runBatch runs the instances of batch's hosts, each once a slot is free,
// and waits for them. It returns how many it started: once ctx has ended
// it starts no more.
func (x *execution) runBatch(ctx context.Context, data *runData, b *boundStep, addr string, batch []string, fo *fanoutRun) int {
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, host := range batch {
		select {
		case fo.slots <- struct{}{}:
		case <-ctx.Done():
			return i
		}
		if ctx.Err() != nil {
			<-fo.slots
			return i
		}
		wg.Go(func() {
			defer func() { <-fo.slots }()
			out, err := x.runInstance(ctx, data, b, hostInstance(host), instanceAddr(addr, host))
			fo.mu.Lock()
			defer fo.mu.Unlock()
			fo.outs[host] = out
			if err != nil {
				fo.errs[host] = err
			}
		})
	}
	return len(batch)
}

// notStarted reports hosts as not started (status), for why.
func (x *execution) notStarted(b *boundStep, addr string, hosts []string, outs map[string]cty.Value, status events.Status, why string) {
	for _, host := range hosts {
		outs[host] = nullOutputs(b.outputType())
		x.finish(&StepResult{Addr: instanceAddr(addr, host), Action: b.actionName(), Status: status, Error: why})
	}
}

// toleranceText says how many failed hosts a step tolerates, and which
// argument says so.
func toleranceText(f *dsl.Fanout, tolerated int) string {
	switch {
	case f.MaxFailures != nil:
		return fmt.Sprintf("max_failures = %d allows", tolerated)
	case f.MaxFailPercent != nil:
		return fmt.Sprintf("the %d that max_fail_percentage = %s allows", tolerated, strconv.FormatFloat(*f.MaxFailPercent, 'f', -1, 64))
	}
	return "the 0 allowed by default (max_failures or max_fail_percentage allow more)"
}

// instanceAddr is the address of one instance of a step, step.NAME["KEY"].
func instanceAddr(addr, key string) string { return fmt.Sprintf("%s[%q]", addr, key) }

// hostInstance is the instance of a group's step on host: each.key and
// each.value are the host's name, so that its arguments can differ by host.
func hostInstance(host string) instance {
	name := cty.StringVal(host)
	return instance{key: host, host: host, fanned: true, each: &lang.Each{Key: name, Value: name}}
}

// groupInstances returns the instances of a step whose target is a group
// of env, one per host, for validation and plan; nil for any other step.
// What is wrong with a target is reported where each instance evaluates it.
func groupInstances(scope *lang.Scope, b *boundStep, env *dsl.Environment) []instance {
	if b.ForEach != nil || b.Target == nil {
		return nil
	}
	t, diags := evalTarget(scope, b, env)
	if diags.HasErrors() || t.group == "" {
		return nil
	}
	insts := make([]instance, len(t.hosts))
	for i, h := range t.hosts {
		insts[i] = hostInstance(h)
	}
	return insts
}

// fanoutUnusedDiag warns that a step's fan-out arguments do nothing in
// env: its target is one machine there, not a group.
func fanoutUnusedDiag(b *boundStep, t stepTarget, env *dsl.Environment) *hcl.Diagnostic {
	where := "the local machine"
	if t.host != "" {
		where = fmt.Sprintf("host %q", t.host)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Fan-out arguments without a group",
		Detail: fmt.Sprintf("Step %q targets %s in environment %q, so parallel, batch_size, max_failures and max_fail_percentage do nothing there. Target a group, or remove them.",
			b.Step.Name, where, env.Name),
		Subject: b.Fanout.DeclRange.Ptr()}
}
