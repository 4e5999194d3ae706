package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/zrun-dev/zrun/engine/secrets"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/engine/dag"
	"github.com/zrun-dev/zrun/sdk"
)

// Plan is what a run would do, step by step, in an order the run could
// take. Nothing runs to make it: values that only a run would produce are
// shown as unknown.
type Plan struct {
	RunID    string            `json:"run_id,omitempty"`
	Workflow string            `json:"workflow"`
	Env      string            `json:"env"`
	Params   map[string]string `json:"params,omitempty"`
	Steps    []*PlannedStep    `json:"steps"`
}

// PlannedStep is one step (or for_each instance) of a plan.
type PlannedStep struct {
	Addr      string   `json:"step"`
	Action    string   `json:"action"`
	Kind      string   `json:"kind"` // main, on_failure, finally
	DependsOn []string `json:"depends_on,omitempty"`
	// Pipes are the streams the step reads while their producers run,
	// "pipe from step.dump.stream into stdin".
	Pipes []string `json:"pipes,omitempty"`
	// Skip is true when the step's condition is already known to be false.
	Skip bool `json:"skip,omitempty"`
	// Args are the evaluated arguments, sensitive ones redacted and
	// not-yet-known ones nil.
	Args    map[string]any `json:"args,omitempty"`
	Changes []string       `json:"changes,omitempty"`
	NoOp    bool           `json:"no_op,omitempty"`
	// Host is the host the step runs on, "" for the local machine; Group
	// the group it is one instance of, with its Batch (from 1) of Batches
	// and how many of the group's hosts run at once (Parallel).
	Host     string `json:"host,omitempty"`
	Group    string `json:"group,omitempty"`
	Batch    int    `json:"batch,omitempty"`
	Batches  int    `json:"batches,omitempty"`
	Parallel int    `json:"parallel,omitempty"`
}

// Plan validates a workflow and asks each plugin what its steps would do.
func (r *Runner) Plan(ctx context.Context, req RunRequest) (*Plan, hcl.Diagnostics) {
	wf, diags := r.workflow(req.Workflow)
	if diags.HasErrors() {
		return nil, diags
	}
	_ = r.warmPlugins(ctx, r.callees(wf), false)()
	env, params, diags := r.prepare(ctx, wf, req)
	if ctx.Err() != nil {
		return nil, cancelledDiags("Planning", wf)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	p := &Plan{RunID: req.RunID, Workflow: wf.Name, Env: env.Name, Params: displayParams(params)}
	// Plugins plan with the values the run would use, secrets included
	// (as Terraform's plan reads sensitive variables): a container whose
	// environment holds a password can then be compared with the running
	// one. What a plugin answers is masked as a run's output is.
	secretValues, moreDiags := secrets.Resolve(ctx, r.opts.Config.Dir, env.Secrets(), secrets.Referenced(r.opts.Config, wf, offSteps(wf, env, params)))
	if diags = append(diags, moreDiags...); diags.HasErrors() {
		return nil, diags
	}
	// A plugin plans against the host its step would run on (what a file
	// there holds), so planning connects to the hosts, as a run would.
	var met secretSet
	hosts := r.newHostTargets(env, secretValues, &met)
	defer func() { _ = hosts.close() }()
	diags = append(diags, r.planWorkflow(ctx, p, hosts, wf, env, params, "")...)
	if ctx.Err() != nil {
		return p, cancelledDiags("Planning", wf)
	}
	return p, diags
}

func (r *Runner) planWorkflow(ctx context.Context, p *Plan, hosts *hostTargets, wf *dsl.Workflow, env *dsl.Environment, params map[string]cty.Value, prefix string) hcl.Diagnostics {
	wb, diags := r.bind(ctx, wf)
	data := newRunData(wf, env, params, runInfo{}, stepTypes(wb, env, params))
	data.secrets = hosts.known
	data.pipes = samePipes(pipesOf(wb, slices.Concat(wb.set(dsl.StepMain), wb.set(dsl.StepOnFailure), wb.set(dsl.StepFinally))))
	for _, kind := range []dsl.StepKind{dsl.StepMain, dsl.StepOnFailure, dsl.StepFinally} {
		g, moreDiags := buildGraph(wb, kind)
		diags = append(diags, moreDiags...)
		order, err := g.TopologicalOrder()
		if err != nil {
			continue // the cycle is already a diagnostic
		}
		for _, v := range order {
			diags = append(diags, r.planStep(ctx, p, hosts, g, data, v.(*boundStep), prefix)...)
		}
	}
	return diags
}

func (r *Runner) planStep(ctx context.Context, p *Plan, hosts *hostTargets, g *dag.Graph, data *runData, b *boundStep, prefix string) hcl.Diagnostics {
	insts, known, diags := evalForEach(r.scope(data, nil), b)
	var deps []string
	for _, d := range g.DependsOn(b) {
		deps = append(deps, prefix+dag.VertexName(d))
	}
	fan, group := planFanout(r.scope(data, nil), b, data.env)
	if group != nil {
		insts = fan
		if len(fan) == 0 {
			p.Steps = append(p.Steps, &PlannedStep{Addr: prefix + b.Name(), Action: b.actionName(), Kind: kindName(b.Kind), DependsOn: deps,
				Skip: true, Group: group.name, Changes: []string{fmt.Sprintf("skipped: group %q has no hosts", group.name)}})
		}
	}
	for _, inst := range insts {
		run, moreDiags := evalWhen(r.scope(data, inst.each), b)
		diags = append(diags, moreDiags...)
		ps := &PlannedStep{Addr: prefix + b.Name(), Action: b.actionName(), Kind: kindName(b.Kind), DependsOn: deps, Skip: !run,
			Pipes: data.pipesInto(b, prefix)}
		switch {
		case inst.fanned:
			ps.Addr = instanceAddr(ps.Addr, inst.key)
			ps.Host, ps.Group, ps.Batch, ps.Batches, ps.Parallel = inst.host, group.name, group.batchOf[inst.host], group.batches, group.parallel
		case b.ForEach != nil && known:
			ps.Addr = instanceAddr(ps.Addr, inst.key)
		case b.ForEach != nil:
			ps.Addr += "[*]"
			ps.Changes = append(ps.Changes, "one instance per for_each element, known when the run gets there")
		}
		if !inst.fanned {
			t, moreDiags := evalTarget(r.scope(data, inst.each), b, data.env)
			diags = append(diags, moreDiags...)
			inst.host, ps.Host = t.host, t.host
		}
		args, moreDiags := evalArgs(r.scope(data, inst.each), b)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			continue
		}
		if args.IsKnown() && args.Type().IsObjectType() {
			ps.Args = displayMap(args.AsValueMap())
		}
		p.Steps = append(p.Steps, ps)
		if !run {
			ps.Changes = append(ps.Changes, "skipped: condition is false")
			continue
		}
		if b.call != nil {
			called, _ := resolveParams(b.call, nil, knownAttrs(args))
			ps.Changes = append(ps.Changes, "runs workflow "+b.call.Name)
			diags = append(diags, r.planWorkflow(ctx, p, hosts, b.call, data.env, unknownOver(b.call, called), ps.Addr+"/")...)
			continue
		}
		target, err := hosts.target(ctx, inst.host)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Host unreachable",
				Detail: fmt.Sprintf("Step %s could not be planned: %s", ps.Addr, hosts.met.masker(args).Mask(err.Error())), Subject: b.Target.Range().Ptr()})
			continue
		}
		resp, pd, err := b.client.PlanAction(ctx, b.Action.Name, &sdk.PlanRequest{
			Args: args, Target: target,
			Info: sdk.RunInfo{RunID: p.RunID, Workflow: data.wf.Name, Env: data.env.Name, Step: ps.Addr},
		})
		redact := newMasker(append(sensitiveStrings(cty.ObjectVal(data.params)), sensitiveStrings(args)...)).Mask
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Plugin failed",
				Detail: redact(fmt.Sprintf("Plugin %q failed to plan step %q: %s", b.Action.Plugin, b.Step.Name, err)), Subject: b.Action.Range.Ptr(),
				Extra: pluginFailure{}})
			continue
		}
		for _, d := range pluginDiags(b, pd) {
			d.Summary, d.Detail = redact(d.Summary), redact(d.Detail)
			diags = append(diags, d)
		}
		if resp != nil {
			for _, c := range resp.Changes {
				ps.Changes = append(ps.Changes, redact(c))
			}
			ps.NoOp = resp.NoOp
		}
	}
	return diags
}

// knownAttrs returns an object's attributes, or nil if it is not known.
func knownAttrs(v cty.Value) map[string]cty.Value {
	if !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() {
		return nil
	}
	return v.AsValueMap()
}

// unknownOver fills params a plan could not resolve with unknown values.
func unknownOver(wf *dsl.Workflow, known map[string]cty.Value) map[string]cty.Value {
	out := unknownParams(wf)
	for k, v := range known {
		out[k] = v
	}
	return out
}

// planGroup is how a step whose target is a group would run on its hosts.
type planGroup struct {
	name     string
	batchOf  map[string]int // from 1
	batches  int
	parallel int
}

// planFanout returns the instances of a step whose target is a group, one
// per host, and how they would run; nil for any other step.
func planFanout(scope *lang.Scope, b *boundStep, env *dsl.Environment) ([]instance, *planGroup) {
	insts := groupInstances(scope, b, env)
	if insts == nil {
		return nil, nil
	}
	t, _ := evalTarget(scope, b, env)
	f := fanoutOf(b)
	batches := f.Batches(t.hosts)
	pg := &planGroup{name: t.group, batchOf: map[string]int{}, batches: len(batches), parallel: f.Parallel}
	for i, batch := range batches {
		for _, h := range batch {
			pg.batchOf[h] = i + 1
		}
	}
	return insts, pg
}
