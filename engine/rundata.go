package engine

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/sdk"
)

// runData is the lang.Data of one workflow invocation: params, the
// environment, run facts and the outputs of steps as they finish. During
// validation and planning, step outputs not yet known are unknown values
// of the right type, so expressions are type-checked without running
// anything.
type runData struct {
	wf     *dsl.Workflow
	env    *dsl.Environment
	params map[string]cty.Value
	run    map[string]cty.Value
	// releases reads run.releases (runInfo.Releases).
	releases func() (cty.Value, error)
	// secrets holds the resolved values (marked sensitive) of the secrets
	// the run uses; empty while validating.
	secrets map[string]cty.Value
	// stepType returns the type a step's value has (outputs object, or a
	// map of them under for_each); used for steps with no recorded value.
	stepType func(name string) cty.Type

	mu    sync.RWMutex
	steps map[string]cty.Value
	// streams are the values of stream outputs that pipes connect, by
	// step and output: their pipe's address, which a consumer reads while
	// its producer runs, before the producer has a value.
	streams map[string]map[string]cty.Value
	// pipes are the pipes of the workflow's steps, for plans.
	pipes []*pipeEdge
	// missingAsNull makes steps without a value read as objects of nulls
	// rather than unknown: on_failure and finally see real, partial results.
	missingAsNull bool
}

func newRunData(wf *dsl.Workflow, env *dsl.Environment, params map[string]cty.Value, info runInfo, stepType func(string) cty.Type) *runData {
	return &runData{
		wf:     wf,
		env:    env,
		params: params,
		run: map[string]cty.Value{
			"id":         info.val(info.ID),
			"workflow":   cty.StringVal(wf.Name),
			"env":        cty.StringVal(env.Name),
			"started_at": info.val(info.StartedAt.UTC().Format(time.RFC3339)),
		},
		releases: info.Releases,
		stepType: stepType,
		steps:    map[string]cty.Value{},
	}
}

// runInfo identifies a run; an empty ID means validation, where run facts
// are unknown strings.
type runInfo struct {
	ID        string
	StartedAt time.Time
	// Releases reads run.releases, once, when a step first needs it; nil
	// where there is no ledger or no run yet (run.releases is unknown).
	Releases func() (cty.Value, error)
}

func (i runInfo) val(s string) cty.Value {
	if i.ID == "" {
		return cty.UnknownVal(cty.String)
	}
	return cty.StringVal(s)
}

func (d *runData) setStep(name string, v cty.Value) {
	d.mu.Lock()
	d.steps[name] = v
	d.mu.Unlock()
}

// setStream gives a step's stream output the address of its pipe.
func (d *runData) setStream(step, output string, addr cty.Value) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.streams == nil {
		d.streams = map[string]map[string]cty.Value{}
	}
	if d.streams[step] == nil {
		d.streams[step] = map[string]cty.Value{}
	}
	d.streams[step][output] = addr
}

// pipesInto describes the pipes a step reads, for its plan.
func (d *runData) pipesInto(b *boundStep, prefix string) []string {
	var out []string
	for _, p := range d.pipes {
		if p.consumer == b {
			out = append(out, fmt.Sprintf("pipe from %s%s into %s", prefix, p.ref.String(), p.arg))
		}
	}
	return out
}

func (d *runData) stepValue(name string) (cty.Value, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	v, ok := d.steps[name]
	if streams := d.streams[name]; len(streams) > 0 {
		if !ok {
			v, ok = cty.UnknownVal(d.stepType(name)), true
		}
		v = withStreams(v, streams)
	}
	return v, ok
}

// withStreams is a step's value with its connected stream outputs set to
// their pipes' addresses; its other attributes stay unknown until the
// step has finished.
func withStreams(v cty.Value, streams map[string]cty.Value) cty.Value {
	ty := v.Type()
	if !ty.IsObjectType() || v.IsNull() {
		return v
	}
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		switch s, ok := streams[name]; {
		case ok:
			attrs[name] = s
		case v.IsKnown():
			attrs[name] = v.GetAttr(name)
		default:
			attrs[name] = cty.UnknownVal(at)
		}
	}
	return cty.ObjectVal(attrs)
}

func (d *runData) GetParam(addr addrs.Param, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if v, ok := d.params[addr.Name]; ok {
		return v, nil
	}
	return cty.DynamicVal, undefined(rng, "Reference to undeclared param",
		fmt.Sprintf("Workflow %q has no param %q. %s", d.wf.Name, addr.Name, suggest(addr.Name, d.wf.ParamOrder, "params")))
}

func (d *runData) GetEnv(addr addrs.EnvValue, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if v, ok := d.env.Value(addr.Name); ok {
		return v, nil
	}
	return cty.DynamicVal, undefined(rng, "Reference to undefined environment value",
		fmt.Sprintf("Environment %q has no value %q. Set it in the environment (or one it extends). %s",
			d.env.Name, addr.Name, suggest(addr.Name, keys(d.env.Values()), "values")))
}

func (d *runData) GetSecret(addr addrs.Secret, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if v, ok := d.secrets[addr.Name]; ok {
		return v, nil
	}
	if _, ok := d.env.Secret(addr.Name); ok {
		// Declared but not resolved: validation, which reads no secret.
		return cty.UnknownVal(cty.String).Mark(sdk.Sensitive), nil
	}
	return cty.DynamicVal, undefined(rng, "Reference to undeclared secret",
		fmt.Sprintf("Environment %q has no secret %q. Declare it with a secret block in the environment (or one it extends) or outside any environment. %s",
			d.env.Name, addr.Name, suggest(addr.Name, keys(d.env.Secrets()), "secrets")))
}

func (d *runData) GetStep(addr addrs.StepRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if v, ok := d.stepValue(addr.Name); ok {
		return v, nil
	}
	ty := d.stepType(addr.Name)
	if ty == cty.NilType {
		var names []string
		for _, s := range d.wf.AllSteps() {
			names = append(names, s.Name)
		}
		return cty.DynamicVal, undefined(rng, "Reference to undeclared step",
			fmt.Sprintf("Workflow %q has no step %q. %s", d.wf.Name, addr.Name, suggest(addr.Name, names, "steps")))
	}
	if d.missingAsNull {
		return nullOutputs(ty), nil
	}
	return cty.UnknownVal(ty), nil
}

func (d *runData) GetRun(addr addrs.RunAttr, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if addr.Name == addrs.RunReleases {
		if d.releases == nil {
			return cty.UnknownVal(releasesType), nil
		}
		v, err := d.releases()
		if err != nil {
			return cty.UnknownVal(releasesType), undefined(rng, "Cannot read the releases",
				fmt.Sprintf("run.releases comes from the ledger, which could not be read: %s.", err))
		}
		return v, nil
	}
	return d.run[addr.Name], nil
}

// nullOutputs is the value of a step that did not finish: an object whose
// attributes are all null, so `step.x.y` reads as null instead of failing.
func nullOutputs(ty cty.Type) cty.Value {
	if !ty.IsObjectType() {
		return cty.NullVal(ty)
	}
	attrs := map[string]cty.Value{}
	for n, at := range ty.AttributeTypes() {
		attrs[n] = cty.NullVal(at)
	}
	return cty.ObjectVal(attrs)
}

func undefined(rng hcl.Range, summary, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()}}
}

// Interface guards
var _ lang.Data = (*runData)(nil)
