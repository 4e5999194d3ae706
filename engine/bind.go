package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// boundStep is a step joined with what it runs: a plugin action and its
// schema, or a called workflow. Binding is the first thing Validate does;
// every later phase works on bound steps.
type boundStep struct {
	*dsl.Step
	client sdk.Client
	action *schema.Action
	call   *dsl.Workflow
	spec   hcldec.Spec
}

// Name is the step's address, for graphs and messages.
func (b *boundStep) Name() string { return "step." + b.Step.Name }

// outputType is the type of step.NAME: the outputs object, or, under
// for_each, an object keyed by instance whose type is known only at run time.
func (b *boundStep) outputType() cty.Type {
	if b.ForEach != nil || b.call != nil || b.action == nil {
		return cty.DynamicPseudoType
	}
	return b.action.OutputsType()
}

func (b *boundStep) actionName() string {
	if b.call != nil {
		return "workflow " + b.call.Name
	}
	if b.Action != nil {
		return b.Action.String()
	}
	return ""
}

// workflowBinding holds a workflow's bound steps, by name, across main,
// on_failure and finally.
type workflowBinding struct {
	wf    *dsl.Workflow
	steps map[string]*boundStep
}

func (wb *workflowBinding) stepType(name string) cty.Type {
	if b, ok := wb.steps[name]; ok {
		return b.outputType()
	}
	return cty.NilType
}

// set returns the bound steps of one kind in declaration order.
func (wb *workflowBinding) set(kind dsl.StepKind) []*boundStep {
	var out []*boundStep
	for _, s := range wb.wf.AllSteps() {
		if s.Kind == kind {
			out = append(out, wb.steps[s.Name])
		}
	}
	return out
}

// bind resolves every step of wf to its action schema or called workflow.
func (r *Runner) bind(ctx context.Context, wf *dsl.Workflow) (*workflowBinding, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	wb := &workflowBinding{wf: wf, steps: map[string]*boundStep{}}
	for _, s := range wf.AllSteps() {
		b, moreDiags := r.bindStep(ctx, wf, s)
		diags = append(diags, moreDiags...)
		wb.steps[s.Name] = b
	}
	return wb, diags
}

func (r *Runner) bindStep(ctx context.Context, wf *dsl.Workflow, s *dsl.Step) (*boundStep, hcl.Diagnostics) {
	b := &boundStep{Step: s}
	switch {
	case s.Workflow != "":
		// An undeclared callee is a load error (dsl's checkWorkflowCalls),
		// reported there once; the step is left unbound.
		if callee, ok := r.opts.Config.Workflows[s.Workflow]; ok {
			b.call = callee
			b.spec = paramSpec(callee)
		}
	case s.Action != nil:
		client, ps, err := r.pluginSchema(ctx, s.Action.Plugin)
		if errors.Is(err, sdk.ErrUnknownPlugin) {
			g := newPluginGroup(s.Action.Plugin, wf.Name, s.Name, fmt.Sprintf("Plugin %q is not found: %s", s.Action.Plugin, err))
			return b, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown plugin", Detail: g.detail, Subject: s.Action.Range.Ptr(), Extra: g}}
		}
		if err != nil {
			g := newPluginGroup(s.Action.Plugin, wf.Name, s.Name, fmt.Sprintf("Plugin %q could not be started: %s", s.Action.Plugin, err))
			return b, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Plugin unavailable", Detail: g.detail, Subject: s.Action.Range.Ptr(), Extra: pluginFailure{g}}}
		}
		a, ok := ps.Actions[s.Action.Name]
		if !ok {
			return b, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unknown action",
				Detail:   fmt.Sprintf("Plugin %q (version %s) has no action %q. %s", ps.Name, ps.Version, s.Action.Name, suggest(s.Action.Name, ps.ActionNames(), "actions")),
				Subject:  s.Action.Range.Ptr(),
			}}
		}
		b.client, b.action, b.spec = client, a, actionSpec(a)
	}
	return b, nil
}

// actionSpec turns an action's argument schema into an hcldec spec, so hcl
// itself reports unknown arguments, missing required ones and type errors
// with their source ranges.
func actionSpec(a *schema.Action) hcldec.Spec {
	spec := hcldec.ObjectSpec{}
	for _, attr := range a.Args {
		spec[attr.Name] = &hcldec.AttrSpec{Name: attr.Name, Type: attr.Type, Required: attr.Required}
	}
	return spec
}

// paramSpec is the spec of a workflow call's arguments: the callee's params.
func paramSpec(wf *dsl.Workflow) hcldec.Spec {
	spec := hcldec.ObjectSpec{}
	for _, p := range wf.Params {
		spec[p.Name] = &hcldec.AttrSpec{Name: p.Name, Type: p.Type, Required: p.Required()}
	}
	return spec
}

// pluginFailure marks a diagnostic caused by a plugin that could not be
// started or answered wrongly, rather than by the user's configuration.
// group is set when every step using the plugin meets the same failure.
type pluginFailure struct{ group *pluginGroup }

// pluginGroup is a problem of a plugin that every step using it meets (it
// cannot be found, or started): groupByPlugin reports it once, at the first
// such step, naming them all. It is the Extra of such a diagnostic (inside
// a pluginFailure when the plugin is at fault).
type pluginGroup struct {
	plugin string
	detail string   // the diagnostic's detail, without the steps
	steps  []string // step.NAME of workflow "W"
}

func newPluginGroup(plugin, workflow, step, detail string) *pluginGroup {
	return &pluginGroup{plugin: plugin, detail: detail, steps: []string{fmt.Sprintf("step.%s of workflow %q", step, workflow)}}
}

// HasPluginFailure reports whether diags include a plugin failure, which
// the CLI reports with its own exit code.
func HasPluginFailure(diags hcl.Diagnostics) bool { return hasKind[pluginFailure](diags) }
