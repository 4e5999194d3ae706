package sdktest

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
)

// Result is what an action did in one Run.
type Result struct {
	// Outputs conform to the action's outputs type; cty.NilVal when the
	// action did not run (Validate failed).
	Outputs     cty.Value
	Diagnostics sdk.Diagnostics
	Record
}

// Option adjusts Run.
type Option func(*config)

type config struct {
	grpc   bool
	target sdk.Target
	info   sdk.RunInfo
	ctx    context.Context
	ui     []func(*UI) // WithInput, WithOutput
}

// OverGRPC runs the action through the real wire: gRPC, the broker serving
// the target back, msgpack values and marks as sensitive paths.
func OverGRPC() Option { return func(c *config) { c.grpc = true } }

// WithTarget gives the action target instead of an empty *Target.
func WithTarget(target sdk.Target) Option { return func(c *config) { c.target = target } }

// WithInfo sets the run and step the action is told it runs for.
func WithInfo(info sdk.RunInfo) Option { return func(c *config) { c.info = info } }

// WithContext runs the action under ctx instead of t.Context(), e.g. to
// cancel it.
func WithContext(ctx context.Context) Option { return func(c *config) { c.ctx = ctx } }

// Run validates args against the action's schema and the action's own
// Validate, then runs it, as zrun would. args is a cty.Value or a
// map[string]cty.Value; omitted optional arguments become nulls. A problem
// with the test itself (unknown action, arguments of the wrong type, a
// transport failure) fails t.
func Run(t testing.TB, p *sdk.Plugin, action string, args any, opts ...Option) *Result {
	t.Helper()
	c := &config{
		target: &Target{},
		info:   sdk.RunInfo{RunID: "test", Workflow: "test", Env: "test", Step: "step." + action},
		ctx:    t.Context(),
	}
	for _, o := range opts {
		o(c)
	}
	if err := plugin.Check(p); err != nil {
		t.Fatalf("invalid plugin: %s", err)
	}
	client := sdk.InProcess(p)
	if c.grpc {
		client = GRPC(t, p)
	}
	argv := Args(t, p, action, args)

	res := &Result{}
	all, err := client.ValidateActions(c.ctx, []*sdk.ValidateRequest{{Action: action, Args: argv}})
	if err != nil {
		t.Fatalf("ValidateActions(%q): %s", action, err)
	}
	diags := all[0]
	res.Diagnostics = diags
	if diags.HasErrors() {
		return res
	}
	ui := NewUI(c.target, c.info)
	ui.SetArgs(argv)
	for _, f := range c.ui {
		f(ui)
	}
	resp, err := client.RunAction(c.ctx, action, &sdk.RunRequest{Args: argv, Info: c.info, Target: c.target, UI: ui})
	if err != nil {
		t.Fatalf("RunAction(%q): %s", action, err)
	}
	res.Outputs = resp.Outputs
	res.Diagnostics = append(res.Diagnostics, resp.Diagnostics...)
	res.Record = ui.Record()
	return res
}

// Args converts args to the arguments of p's action, as Run does: a
// cty.Value, a map[string]cty.Value, or a map[string]any whose values are
// Go values (converted to each argument's type) or cty.Values. Arguments
// left out are null. For a test that calls an action's Validate or Plan
// itself.
func Args(t testing.TB, p *sdk.Plugin, action string, args any) cty.Value {
	t.Helper()
	as, ok := p.Schema().Actions[action]
	if !ok {
		t.Fatalf("plugin %q has no action %q", p.Name, action)
	}
	ty := as.ArgsType()
	var v cty.Value
	switch args := args.(type) {
	case cty.Value:
		v = args
	case map[string]cty.Value:
		v = cty.ObjectVal(args)
	case map[string]any:
		attrs := map[string]cty.Value{}
		for name, a := range args {
			if !ty.HasAttribute(name) {
				t.Fatalf("%s.%s has no argument %q", p.Name, action, name)
			}
			av, ok := a.(cty.Value)
			if !ok {
				var err error
				if av, err = gocty.ToCtyValue(a, ty.AttributeType(name)); err != nil {
					t.Fatalf("argument %q: %s", name, err)
				}
			}
			attrs[name] = av
		}
		v = cty.ObjectVal(attrs)
	case nil:
		v = cty.EmptyObjectVal
	default:
		t.Fatalf("args must be a cty.Value, a map[string]cty.Value or a map[string]any, not %T", args)
	}
	if v.Type().IsObjectType() && v.IsKnown() && !v.IsNull() {
		attrs := v.AsValueMap()
		if attrs == nil {
			attrs = map[string]cty.Value{}
		}
		for name, at := range ty.AttributeTypes() {
			if _, ok := attrs[name]; !ok {
				attrs[name] = cty.NullVal(at)
			}
		}
		v = cty.ObjectVal(attrs)
	}
	v, err := convert.Convert(v, ty)
	if err != nil {
		t.Fatalf("arguments of %s.%s: %s", p.Name, action, err)
	}
	return v
}
