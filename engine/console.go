package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/engine/secrets"
)

// ConsoleFile is the file name the diagnostics of an expression typed at
// the console give its source: render them against the expression itself.
const ConsoleFile = "<console>"

// ConsoleRequest says in which scope a console evaluates expressions.
type ConsoleRequest struct {
	// Env is the environment; empty picks it as a run would (ResolveEnv).
	Env string
	// Workflow gives param.NAME its params; empty means the project's only
	// workflow when it has exactly one, and no params otherwise.
	Workflow string
	// Params are raw command-line values, converted to each param's type.
	// A required param left out reads as unknown.
	Params map[string]string
}

// Console evaluates expressions one at a time in the scope a run of a
// workflow would have, outside any run: env.NAME, param.NAME (given or
// defaulted), secret.NAME (read on the first expression that uses it),
// run.workflow and run.env (run.id and run.started_at are unknown), and
// every function. step.NAME is an error, since steps only exist during a
// run. A Console is not safe for concurrent use.
type Console struct {
	r    *Runner
	wf   *dsl.Workflow // nil: no workflow selected, so no params
	env  *dsl.Environment
	data *consoleData
	// met is every sensitive string the console has met: the secrets it
	// read, sensitive params and values, and what functions derived from
	// them. Mask hides them all.
	met secretSet
}

// Console prepares a console. Its diagnostics are errors that leave no
// console (an unknown environment or workflow, a bad --param), or
// warnings about required params that were not given.
func (r *Runner) Console(ctx context.Context, req ConsoleRequest) (*Console, hcl.Diagnostics) {
	env, diags := r.ResolveEnv(req.Env)
	if diags.HasErrors() {
		return nil, diags
	}
	wf, moreDiags := r.consoleWorkflow(req)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	params := map[string]cty.Value{}
	run := runInfo{} // run.id and run.started_at: known at run time
	stand := wf
	if wf != nil {
		params, moreDiags = consoleParams(wf, req.Params)
		diags = append(diags, moreDiags...)
		if diags.HasErrors() {
			return nil, diags
		}
	} else {
		stand = &dsl.Workflow{Params: map[string]*dsl.Param{}}
	}
	c := &Console{r: r, wf: wf, env: env}
	rd := newRunData(stand, env, params, run, func(string) cty.Type { return cty.NilType })
	rd.secrets = map[string]cty.Value{}
	if wf == nil {
		rd.run["workflow"] = cty.UnknownVal(cty.String)
	}
	c.data = &consoleData{runData: rd, c: c}
	c.met.add(cty.ObjectVal(params))
	c.met.add(cty.ObjectVal(env.Values()))
	return c, diags
}

// consoleWorkflow is the workflow a console takes its params from, or nil.
func (r *Runner) consoleWorkflow(req ConsoleRequest) (*dsl.Workflow, hcl.Diagnostics) {
	if req.Workflow != "" {
		return r.workflow(req.Workflow)
	}
	if len(r.opts.Config.Workflows) == 1 {
		for _, wf := range r.opts.Config.Workflows {
			return wf, nil
		}
	}
	if len(req.Params) > 0 {
		detail := "A --param belongs to a workflow: choose one with --workflow NAME" + listOf(keys(r.opts.Config.Workflows))
		if len(r.opts.Config.Workflows) == 0 {
			detail = "A --param belongs to a workflow, and this project has none."
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No workflow selected", Detail: detail, Extra: usageError{}}}
	}
	return nil, nil
}

// listOf is ": a, b." or, for no names, ".".
func listOf(names []string) string {
	if len(names) == 0 {
		return "."
	}
	return ": " + strings.Join(names, ", ") + "."
}

// consoleParams resolves params as a run would, except that a required
// param not given is unknown, with a warning: the console is for trying
// expressions, and one that does not read that param is still worth
// evaluating.
func consoleParams(wf *dsl.Workflow, raw map[string]string) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	missing := map[string]cty.Value{}
	for _, name := range wf.ParamOrder {
		p := wf.Params[name]
		if _, given := raw[name]; given || !p.Required() {
			continue
		}
		missing[name] = cty.UnknownVal(p.Type)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Param without a value",
			Detail: fmt.Sprintf("Workflow %q needs param %q, which was not given: param.%s reads as unknown. Pass it with --param %s=VALUE.",
				wf.Name, name, name, name),
			Subject: p.DeclRange.Ptr(),
		})
	}
	params, moreDiags := resolveParams(wf, raw, missing)
	return params, append(diags, moreDiags...)
}

// Workflow is the name of the workflow whose params the console reads, or
// "" when there is none.
func (c *Console) Workflow() string {
	if c.wf == nil {
		return ""
	}
	return c.wf.Name
}

// Env is the name of the console's environment.
func (c *Console) Env() string { return c.env.Name }

// Eval parses src, one expression, and evaluates it. The secrets it
// references and the console has not read yet are read first (cancelling
// ctx stops a secret's command); a secret that cannot be read is an error
// and the expression is not evaluated. The value keeps its marks:
// sensitive parts are marked sdk.Sensitive. Diagnostics about src name
// ConsoleFile; their text is masked.
func (c *Console) Eval(ctx context.Context, src string) (cty.Value, hcl.Diagnostics) {
	expr, diags := hclsyntax.ParseExpression([]byte(src), ConsoleFile, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, c.maskDiags(diags)
	}
	refs, _ := lang.ReferencesInExpr(expr) // EvalExpr reports bad ones
	if moreDiags := c.readSecrets(ctx, refs); moreDiags.HasErrors() {
		return cty.DynamicVal, c.maskDiags(append(diags, moreDiags...))
	}
	scope := c.r.scope(c.data.runData, nil)
	scope.Data = c.data
	v, moreDiags := scope.EvalExpr(expr, cty.DynamicPseudoType)
	diags = append(diags, moreDiags...)
	c.met.add(v)
	if uv, _ := v.UnmarkDeep(); !diags.HasErrors() && checkNumbers(uv) != nil {
		// Printing 1e99999999 in full takes minutes.
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Number out of range",
			Detail:   fmt.Sprintf("The value holds a number beyond ±2^%d, too large or too small to print.", maxExponent),
			Subject:  expr.Range().Ptr(),
		})
		v = cty.DynamicVal
	}
	return v, c.maskDiags(diags)
}

// readSecrets reads the declared secrets refs name that were not read yet.
// One that cannot be read is tried again by the next expression using it.
func (c *Console) readSecrets(ctx context.Context, refs []*addrs.Reference) hcl.Diagnostics {
	var names []string
	for _, ref := range refs {
		s, ok := ref.Subject.(addrs.Secret)
		if !ok || slices.Contains(names, s.Name) {
			continue
		}
		if _, read := c.data.secrets[s.Name]; read {
			continue
		}
		if _, declared := c.env.Secret(s.Name); declared {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	values, diags := secrets.Resolve(ctx, c.r.opts.Config.Dir, c.env.Secrets(), names)
	for name, v := range values {
		c.data.secrets[name] = v
	}
	c.met.add(cty.ObjectVal(values))
	return diags
}

// Mask hides, in s, every sensitive string the console has met: the
// caller renders a value with its sensitive parts left out, and masks
// the text too, so that a value no longer marked (what a function made of
// a secret) cannot show one either.
func (c *Console) Mask(s string) string {
	return c.met.masker(cty.NilVal).Mask(s)
}

// maskDiags masks the text of diagnostics, and drops the expression and
// evaluation context a renderer could print values from.
func (c *Console) maskDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) == 0 {
		return diags
	}
	m := c.met.masker(cty.NilVal)
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		md := *d
		md.Summary, md.Detail = m.Mask(d.Summary), m.Mask(d.Detail)
		md.Expression, md.EvalContext = nil, nil
		out[i] = &md
	}
	return out
}

// consoleData is a run's data outside a run: params need a workflow, and
// steps do not exist.
type consoleData struct {
	*runData
	c *Console
}

func (d *consoleData) GetParam(addr addrs.Param, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	if d.c.wf == nil {
		return cty.DynamicVal, undefined(rng, "No workflow selected",
			fmt.Sprintf("%s is a param of a workflow, and the console reads none: start it with --workflow NAME%s", addr, listOf(keys(d.c.r.opts.Config.Workflows))))
	}
	return d.runData.GetParam(addr, rng)
}

func (d *consoleData) GetStep(addr addrs.StepRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	return cty.DynamicVal, undefined(rng, "Reference to a step outside a run",
		fmt.Sprintf("%s only exists during a run: the console runs no step. Try the expression with a literal value in its place.", addr))
}

// Interface guards
var _ lang.Data = (*consoleData)(nil)
