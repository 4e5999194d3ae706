package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/sdk"
)

// Validate checks every workflow against every environment without running
// anything, and returns all problems at once. A problem found in only some
// environments says which.
func (r *Runner) Validate(ctx context.Context) hcl.Diagnostics {
	var diags hcl.Diagnostics
	envs := r.envList()
	names := keys(r.opts.Config.Workflows)
	all := make([]*dsl.Workflow, 0, len(names))
	for _, name := range names {
		all = append(all, r.opts.Config.Workflows[name])
	}
	_ = r.warmPlugins(ctx, all, false)()
	// Every (workflow, environment) pair is checked at once: the time goes
	// into plugin round trips, which overlap well.
	perWorkflow := make([][]hcl.Diagnostics, len(names))
	var wg sync.WaitGroup
	for w, name := range names {
		perWorkflow[w] = make([]hcl.Diagnostics, len(envs))
		for i, env := range envs {
			wg.Go(func() {
				perWorkflow[w][i] = r.validateWorkflow(ctx, r.opts.Config.Workflows[name], env, nil)
			})
		}
	}
	wg.Wait()
	for w := range names {
		diags = append(diags, mergeEnvDiags(envs, perWorkflow[w])...)
	}
	return groupByPlugin(uniqueDiags(diags))
}

// envList returns the project's environments, or one empty stand-in when
// it declares none, so workflows are still checked.
func (r *Runner) envList() []*dsl.Environment {
	var envs []*dsl.Environment
	for _, name := range keys(r.opts.Config.Environments) {
		envs = append(envs, r.opts.Config.Environments[name])
	}
	if len(envs) == 0 {
		envs = append(envs, r.defaultEnv())
	}
	return envs
}

// defaultEnv stands in when the project declares no environment.
func (r *Runner) defaultEnv() *dsl.Environment { return r.opts.Config.DefaultEnvironment() }

// validateWorkflow checks one workflow in one environment: steps bind to
// actions, graphs have no cycles, every expression evaluates with the
// right type, and each plugin accepts its arguments.
func (r *Runner) validateWorkflow(ctx context.Context, wf *dsl.Workflow, env *dsl.Environment, params map[string]cty.Value) hcl.Diagnostics {
	wb, diags := r.bind(ctx, wf)
	diags = append(diags, r.checkDefaults(ctx, wf)...)
	for _, kind := range []dsl.StepKind{dsl.StepMain, dsl.StepOnFailure, dsl.StepFinally} {
		_, moreDiags := buildGraph(wb, kind)
		diags = append(diags, moreDiags...)
	}
	if params == nil {
		params = unknownParams(wf)
	}
	data := newRunData(wf, env, params, runInfo{}, stepTypes(wb, env, params))
	// Each step's own problems first, then what its plugin says: the
	// plugins check all the steps' arguments in one call each.
	var perStep []hcl.Diagnostics
	var calls []validateCall
	for _, kind := range []dsl.StepKind{dsl.StepMain, dsl.StepOnFailure, dsl.StepFinally} {
		for _, b := range wb.set(kind) {
			stepDiags, stepCalls := r.validateStep(data, b, len(perStep))
			perStep = append(perStep, stepDiags)
			calls = append(calls, stepCalls...)
		}
	}
	r.validateCalls(ctx, wf, calls, perStep)
	diags = append(diags, fannedPipeDiags(r.scope(data, nil), wb, data.env)...)
	for _, d := range perStep {
		diags = append(diags, dedupe(d)...)
	}
	for _, name := range wf.OutputOrder {
		if v := wf.Outputs[name].Value; v != nil { // nil: a load error
			_, moreDiags := r.scope(data, nil).EvalExpr(v, cty.DynamicPseudoType)
			diags = append(diags, moreDiags...)
		}
	}
	return groupByPlugin(diags)
}

// validateCall is one step instance's arguments, for its plugin to check.
type validateCall struct {
	step int // index into the per-step diagnostics
	b    *boundStep
	args cty.Value
}

// validateStep checks one step's expressions in every instance, and
// returns the calls that ask its plugin about the arguments.
func (r *Runner) validateStep(data *runData, b *boundStep, index int) (hcl.Diagnostics, []validateCall) {
	insts, _, diags := evalForEach(r.scope(data, nil), b)
	if fan := groupInstances(r.scope(data, nil), b, data.env); fan != nil {
		insts = fan
	}
	var calls []validateCall
	for _, inst := range insts {
		scope := r.scope(data, inst.each)
		runs, moreDiags := evalWhen(scope, b)
		diags = append(diags, moreDiags...)
		// A step whose condition is known false in this environment never
		// runs there: its expressions are checked, but its plugin is not
		// asked about arguments it will never get (a webhook step with
		// when = env.webhook != "" and url = env.webhook).
		skipped := !moreDiags.HasErrors() && !runs
		t, moreDiags := evalTarget(scope, b, data.env)
		diags = append(diags, moreDiags...)
		if !moreDiags.HasErrors() && t.group == "" && b.Fanout != nil {
			diags = append(diags, fanoutUnusedDiag(b, t, data.env))
		}
		diags = append(diags, checkConditions(scope, b.Preconditions, false)...)
		diags = append(diags, checkConditions(selfScope(scope, cty.UnknownVal(b.selfType())), b.Postconditions, false)...)
		if b.spec == nil {
			continue
		}
		args, moreDiags := evalArgs(scope, b)
		hintMetaArguments(b, moreDiags)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() || b.client == nil || skipped {
			continue
		}
		calls = append(calls, validateCall{step: index, b: b, args: args})
	}
	return diags, calls
}

// hintMetaArguments adds a suggestion to hcl's diagnostic about an argument
// the step's action (or callee) does not take when the argument's name is
// close to none of those it takes but close to a meta-argument: timeuot is
// a misspelt timeout, not a plugin's argument.
func hintMetaArguments(b *boundStep, diags hcl.Diagnostics) {
	spec, ok := b.spec.(hcldec.ObjectSpec)
	body, isSyntax := dsl.OwnBody(b.Body).(*hclsyntax.Body)
	if !ok || !isSyntax {
		return
	}
	takes := slices.Collect(maps.Keys(spec))
	for _, d := range diags {
		if d.Summary != "Unsupported argument" || d.Subject == nil {
			continue
		}
		for name, attr := range body.Attributes {
			if attr.NameRange != *d.Subject || dsl.Closest(name, takes) != "" {
				continue
			}
			if meta := dsl.Closest(name, dsl.MetaArguments()); meta != "" {
				d.Detail += fmt.Sprintf(" Did you mean the step's meta-argument %q?", meta)
			}
		}
	}
}

// validateCalls asks each plugin, once and concurrently with the others,
// about the arguments of all its calls, and adds what it says to each
// step's diagnostics.
func (r *Runner) validateCalls(ctx context.Context, wf *dsl.Workflow, calls []validateCall, perStep []hcl.Diagnostics) {
	byClient := map[sdk.Client][]validateCall{}
	var order []sdk.Client
	for _, c := range calls {
		if _, ok := byClient[c.b.client]; !ok {
			order = append(order, c.b.client)
		}
		byClient[c.b.client] = append(byClient[c.b.client], c)
	}
	results := make([][]sdk.Diagnostics, len(order))
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, client := range order {
		wg.Go(func() {
			reqs := make([]*sdk.ValidateRequest, len(byClient[client]))
			for j, c := range byClient[client] {
				reqs[j] = &sdk.ValidateRequest{Action: c.b.Action.Name, Args: c.args}
			}
			results[i], errs[i] = client.ValidateActions(ctx, reqs)
			if errs[i] == nil && len(results[i]) != len(reqs) {
				errs[i] = fmt.Errorf("it answered %d of %d validations", len(results[i]), len(reqs))
			}
		})
	}
	wg.Wait()
	for i, client := range order {
		for j, c := range byClient[client] {
			if errs[i] != nil {
				g := newPluginGroup(c.b.Action.Plugin, wf.Name, c.b.Step.Name,
					fmt.Sprintf("Plugin %q failed to validate the arguments of its steps: %s", c.b.Action.Plugin, errs[i]))
				perStep[c.step] = append(perStep[c.step], &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Plugin failed",
					Detail:   g.detail,
					Subject:  c.b.Action.Range.Ptr(),
					Extra:    pluginFailure{g},
				})
				continue
			}
			perStep[c.step] = append(perStep[c.step], pluginDiags(c.b, results[i][j])...)
		}
	}
}

// dedupe drops repeated diagnostics: the same mistake in a step with a
// known for_each is found once per instance.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		k := d.Summary + "\x00" + d.Detail
		if d.Subject != nil {
			k += "\x00" + d.Subject.String()
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// unknownParams gives every param an unknown value of its type, marked
// sensitive where declared, for checking expressions before values exist.
func unknownParams(wf *dsl.Workflow) map[string]cty.Value {
	out := map[string]cty.Value{}
	for name, p := range wf.Params {
		v := cty.UnknownVal(p.Type)
		if p.Sensitive {
			v = v.Mark(sensitiveMark)
		}
		out[name] = v
	}
	return out
}

// mergeEnvDiags joins the diagnostics of one workflow across environments:
// a problem found in every environment is reported once; one found in only
// some names them. A problem is its summary at its place: its detail may
// differ from one environment to the next (it names the environment, or
// the values it has), and then it is told in the first one's words, naming
// the environments.
func mergeEnvDiags(envs []*dsl.Environment, perEnv []hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		summary string
		rng     hcl.Range
		// detail stays in the key of a diagnostic without a place, which
		// its summary alone does not tell apart.
		detail string
	}
	var order []key
	seen := map[key]*hcl.Diagnostic{}
	in := map[key][]string{}
	differs := map[key]bool{}
	for i, diags := range perEnv {
		for _, d := range diags {
			k := key{summary: d.Summary}
			if d.Subject != nil {
				k.rng = *d.Subject
			} else {
				k.detail = d.Detail
			}
			if first, ok := seen[k]; !ok {
				seen[k] = d
				order = append(order, k)
			} else if first.Detail != d.Detail {
				differs[k] = true
			}
			if n := in[k]; len(n) == 0 || n[len(n)-1] != envs[i].Name {
				in[k] = append(in[k], envs[i].Name)
			}
		}
	}
	out := make(hcl.Diagnostics, 0, len(order))
	for _, k := range order {
		d := *seen[k]
		if names := in[k]; len(envs) > 1 && (len(names) < len(envs) || differs[k]) {
			d.Detail = fmt.Sprintf("%s (In %s %s.)", d.Detail, plural(len(names), "environment", "environments"), listNames(names))
		}
		out = append(out, &d)
	}
	return out
}

// maxNames bounds how many environments a diagnostic names.
const maxNames = 10

// listNames joins names, the first maxNames of them when there are more.
func listNames(names []string) string {
	if len(names) > maxNames {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNames], ", "), len(names)-maxNames)
	}
	return strings.Join(names, ", ")
}

// plural returns one or many, as n calls for.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// groupByPlugin reports a problem that every step using a plugin meets
// once, at the first such step, naming all of them; applied again to its
// own output (a workflow's, then the project's), it joins the groups.
func groupByPlugin(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct{ summary, plugin string }
	first := map[key]*hcl.Diagnostic{}
	groups := map[key]*pluginGroup{}
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		g := groupOf(d)
		if g == nil {
			out = append(out, d)
			continue
		}
		k := key{d.Summary, g.plugin}
		if _, ok := first[k]; !ok {
			joined := &pluginGroup{plugin: g.plugin, detail: g.detail}
			dd := *d
			if _, ok := d.Extra.(pluginFailure); ok {
				dd.Extra = pluginFailure{joined}
			} else {
				dd.Extra = joined
			}
			first[k], groups[k] = &dd, joined
			out = append(out, &dd)
		}
		for _, s := range g.steps {
			if !slices.Contains(groups[k].steps, s) {
				groups[k].steps = append(groups[k].steps, s)
			}
		}
	}
	for k, d := range first {
		g := groups[k]
		d.Detail = g.detail
		if len(g.steps) > 1 {
			d.Detail = fmt.Sprintf("%s. It is used by %d steps, none of which could be checked: %s.",
				strings.TrimRight(g.detail, ". \n"), len(g.steps), strings.Join(g.steps, ", "))
		}
	}
	return out
}

// groupOf returns the plugin group of d, nil if it has none.
func groupOf(d *hcl.Diagnostic) *pluginGroup {
	switch x := d.Extra.(type) {
	case *pluginGroup:
		return x
	case pluginFailure:
		return x.group
	}
	return nil
}

// checkDefaults reports the arguments of wf's defaults blocks, and of the
// project's for the plugins wf's steps use, that no action of their plugin
// takes (a default no step could ever get is a typo), and a defaults
// block of a plugin zrun cannot find.
func (r *Runner) checkDefaults(ctx context.Context, wf *dsl.Workflow) hcl.Diagnostics {
	used := map[string]bool{}
	for _, steps := range []map[string]*dsl.Step{wf.Steps, wf.OnFailure, wf.Finally} {
		for _, s := range steps {
			if s.Action != nil {
				used[s.Action.Plugin] = true
			}
		}
	}
	var defs []*dsl.Defaults
	for _, name := range keys(wf.Defaults) {
		defs = append(defs, wf.Defaults[name])
	}
	for _, name := range keys(r.opts.Config.Defaults) {
		if used[name] {
			defs = append(defs, r.opts.Config.Defaults[name])
		}
	}
	var diags hcl.Diagnostics
	for _, def := range defs {
		_, ps, err := r.pluginSchema(ctx, def.Plugin)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown plugin in defaults",
				Detail: fmt.Sprintf("defaults %q: %s", def.Plugin, err), Subject: def.NameRange.Ptr()})
			continue
		}
		takes := map[string]bool{}
		for _, a := range ps.Actions {
			for _, arg := range a.Args {
				takes[arg.Name] = true
			}
		}
		for _, name := range keys(def.Attributes) {
			if takes[name] {
				continue
			}
			attr := def.Attributes[name]
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument in defaults",
				Detail:  fmt.Sprintf("No action of plugin %q takes an argument %q, so no step would get it. %s", def.Plugin, name, suggest(name, keys(takes), "arguments")),
				Subject: attr.NameRange.Ptr()})
		}
	}
	return diags
}

// uniqueDiags drops the repeats of a diagnostic (the same problem at the
// same place), which the project's defaults blocks give once per workflow
// that uses their plugin.
func uniqueDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		at := ""
		if d.Subject != nil {
			at = d.Subject.String()
		}
		key := fmt.Sprintf("%d\x00%s\x00%s\x00%s", d.Severity, d.Summary, d.Detail, at)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	return out
}
