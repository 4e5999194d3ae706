package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/engine/secrets"
	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/sdk"
)

// TargetPool hands out the sdk.Target of a host, one connection per host,
// opened on first use and shared by every caller (engine/targets.Pool).
// Engine tests give in-memory targets instead.
type TargetPool interface {
	Target(ctx context.Context, cfg *targets.Config) (sdk.Target, error)
	Close() error
}

// newTargetPool is Options.Targets' default: a pool of SSH connections.
func newTargetPool() TargetPool { return targets.NewPool() }

// hostTargets are the hosts of one run or plan: each host's settings,
// resolved (its passphrase read) when a step first targets it, and its
// target from a pool opened then and closed by close.
type hostTargets struct {
	r   *Runner
	env *dsl.Environment
	// known are secrets already read by the run, reused before reading one
	// again; met receives each passphrase read, to be masked.
	known map[string]cty.Value
	met   *secretSet

	mu      sync.Mutex
	pool    TargetPool
	configs map[string]*hostConfig
}

// hostConfig is one host's resolved settings, read once.
type hostConfig struct {
	once sync.Once
	cfg  *targets.Config
	err  error
}

func (r *Runner) newHostTargets(env *dsl.Environment, known map[string]cty.Value, met *secretSet) *hostTargets {
	return &hostTargets{r: r, env: env, known: known, met: met, configs: map[string]*hostConfig{}}
}

// target returns host's target: the local one for "", else the pool's.
func (t *hostTargets) target(ctx context.Context, host string) (sdk.Target, error) {
	if host == "" {
		return t.r.opts.Local, nil
	}
	cfg, err := t.config(ctx, host)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.pool == nil {
		t.pool = t.r.opts.Targets()
	}
	pool := t.pool
	t.mu.Unlock()
	tgt, err := pool.Target(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("host %q: %w", host, err)
	}
	return tgt, nil
}

// resolve resolves host's settings ahead of its first connection, if it
// is a host; what goes wrong is told by target.
func (t *hostTargets) resolve(ctx context.Context, host string) {
	if host != "" {
		_, _ = t.config(ctx, host)
	}
}

// config resolves host's settings on first use; concurrent callers share
// one resolution.
func (t *hostTargets) config(ctx context.Context, host string) (*targets.Config, error) {
	t.mu.Lock()
	hc, ok := t.configs[host]
	if !ok {
		hc = &hostConfig{}
		t.configs[host] = hc
	}
	t.mu.Unlock()
	hc.once.Do(func() {
		hosts := t.env.Hosts()
		values := map[string]cty.Value{}
		var missing []string
		for _, name := range passphrases(hosts, []string{host}) {
			if v, ok := t.known[name]; ok {
				values[name] = v
			} else {
				missing = append(missing, name)
			}
		}
		read, diags := secrets.Resolve(ctx, t.r.opts.Config.Dir, t.env.Secrets(), missing)
		for name, v := range read {
			values[name] = v
		}
		if !diags.HasErrors() {
			var moreDiags hcl.Diagnostics
			hc.cfg, moreDiags = t.r.hostConfig(hosts, host, values)
			diags = append(diags, moreDiags...)
		}
		t.met.add(cty.ObjectVal(values))
		if diags.HasErrors() {
			hc.err = fmt.Errorf("host %q: %w", host, diagsError(diags))
		}
	})
	return hc.cfg, hc.err
}

// close closes the pool, if a step opened it.
func (t *hostTargets) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pool == nil {
		return nil
	}
	return t.pool.Close()
}

// stepTarget is what a step's target names in an environment.
type stepTarget struct {
	// host is the one host the step runs on; "" for the local machine or
	// a group.
	host string
	// group is the group the step fans out over, "" for none; hosts are
	// its members, sorted.
	group string
	hosts []string
}

// evalTarget resolves a step's target in env: a host, a group, or ""
// (and "local") for the local machine. A target not known yet
// (validation with unknown params) is the local machine.
func evalTarget(scope *lang.Scope, b *boundStep, env *dsl.Environment) (stepTarget, hcl.Diagnostics) {
	if b.Target == nil {
		return stepTarget{}, nil
	}
	v, diags := scope.EvalExpr(b.Target, cty.String)
	if diags.HasErrors() || !v.IsKnown() {
		return stepTarget{}, diags
	}
	v, _ = v.Unmark()
	if v.IsNull() || v.AsString() == dsl.LocalTarget {
		return stepTarget{}, diags
	}
	name := v.AsString()
	if _, ok := env.Host(name); ok {
		return stepTarget{host: name}, diags
	}
	if members, ok := env.GroupHosts(name); ok {
		if b.ForEach != nil {
			return stepTarget{}, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Fan-out with for_each",
				Detail:  fmt.Sprintf("Target %q is a group of environment %q, which runs the step once per host; a for_each step cannot also fan out. Target one host (each.value may name it), or remove for_each.", name, env.Name),
				Subject: b.Target.Range().Ptr()})
		}
		return stepTarget{group: name, hosts: members}, diags
	}
	return stepTarget{}, append(diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown target",
		Detail: fmt.Sprintf("Environment %q declares no host or group %q. Declare it with a host or group block, or use \"local\" for this machine. %s",
			env.Name, name, suggest(name, env.TargetNames(), "hosts and groups")),
		Subject: b.Target.Range().Ptr(),
	})
}

// instanceHost is the host an instance runs on, "" for the local machine:
// a group's instance's own, or else what the step's target names.
func (x *execution) instanceHost(scope *lang.Scope, b *boundStep, inst instance) (string, hcl.Diagnostics) {
	if inst.fanned {
		return inst.host, nil
	}
	t, diags := evalTarget(scope, b, x.env)
	if t.group != "" && !diags.HasErrors() { // runStep fans a group out before its instances run
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unexpected group target",
			Detail: fmt.Sprintf("Target %q is a group; its hosts run as instances of their own.", t.group), Subject: b.Target.Range().Ptr()})
	}
	return t.host, diags
}

// attemptOn runs an action once on host's target, connecting to the host
// first if no step did yet. The run's parallelism caps the work done on
// this machine; the instances of a group's hosts (fanned) are capped by
// their step's parallel instead, so that a step on 20 hosts is not cut
// into waves by this machine's CPU count.
func (x *execution) attemptOn(ctx context.Context, host string, fanned bool, b *boundStep, args cty.Value, info sdk.RunInfo, mask *masker) (cty.Value, error) {
	target, err := x.targets.target(ctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return cty.NilVal, stopError(ctx)
		}
		return cty.NilVal, err
	}
	sem := x.sem
	if fanned {
		sem = nil
	}
	return x.attempt(ctx, b, args, info, mask, target, sem)
}

// stepTypes is wb.stepType in env with params: a step whose target names
// a group of env is a map of host to outputs, and one whose target is an
// expression of more than env's values and the params may be (its type is
// known only once it runs). A target read from the environment or a param
// (target = env.db.target, target = param.host) is known here, so a step
// that targets one host keeps its outputs' type and its streams can be
// piped.
func stepTypes(wb *workflowBinding, env *dsl.Environment, params map[string]cty.Value) func(string) cty.Type {
	return func(name string) cty.Type {
		ty := wb.stepType(name)
		b, ok := wb.steps[name]
		if !ok || b == nil || b.Target == nil || b.ForEach != nil {
			return ty
		}
		v, diags := b.Target.Value(staticContext(b.Target, env, params))
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
			return cty.DynamicPseudoType
		}
		if _, ok := env.GroupHosts(v.AsString()); ok {
			return cty.DynamicPseudoType
		}
		return ty
	}
}

// staticContext is the evaluation context of an expression that refers
// to env's values and the params and nothing else (no function either),
// or nil when it refers to anything else: its value cannot be known
// before the run. A param not yet known (at validation) is unknown.
func staticContext(expr hcl.Expression, env *dsl.Environment, params map[string]cty.Value) *hcl.EvalContext {
	refs, diags := lang.ReferencesInExpr(expr)
	if diags.HasErrors() || len(refs) == 0 || env == nil {
		return nil
	}
	envVals, paramVals := map[string]cty.Value{}, map[string]cty.Value{}
	for _, ref := range refs {
		switch a := ref.Subject.(type) {
		case addrs.EnvValue:
			v, ok := env.Value(a.Name)
			if !ok {
				return nil
			}
			envVals[a.Name] = v
		case addrs.Param:
			v, ok := params[a.Name]
			if !ok {
				return nil
			}
			paramVals[a.Name] = v
		default:
			return nil
		}
	}
	return &hcl.EvalContext{Variables: map[string]cty.Value{
		addrs.RootEnv: cty.ObjectVal(envVals), addrs.RootParam: cty.ObjectVal(paramVals)}}
}

// offSteps says which steps cannot run in env with the top workflow's
// params: those whose when is false there, read from env's values and
// (in top) the params alone. The secrets they reference need not be
// read. A when that refers to anything else (a step's outputs, a called
// workflow's params) may be true: the step counts.
func offSteps(top *dsl.Workflow, env *dsl.Environment, params map[string]cty.Value) func(*dsl.Workflow, *dsl.Step) bool {
	return func(wf *dsl.Workflow, s *dsl.Step) bool {
		if s.When == nil {
			return false
		}
		p := params
		if wf != top {
			p = nil
		}
		ctx := staticContext(s.When, env, p)
		if ctx == nil && len(s.When.Variables()) == 0 {
			ctx = &hcl.EvalContext{} // a literal
		}
		if ctx == nil {
			return false
		}
		v, diags := s.When.Value(ctx)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			return false
		}
		v, _ = v.UnmarkDeep()
		return !v.IsNull() && v.Type() == cty.Bool && v.False()
	}
}

// Interface guards
var _ TargetPool = (*targets.Pool)(nil)
