package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/sdk/schema"
)

// Client is the host's view of a plugin: the same four calls whether the
// plugin runs in this process (InProcess) or in another one over gRPC
// (sdk/rpc). An error return means the call itself failed (transport, a
// crashed plugin); problems with the step are Diagnostics.
type Client interface {
	GetSchema(ctx context.Context) (*schema.Plugin, error)
	// ValidateActions checks the arguments of many steps at once (a
	// workflow's steps that use this plugin: one round trip for them
	// all) and returns each one's diagnostics, in the order of reqs.
	ValidateActions(ctx context.Context, reqs []*ValidateRequest) ([]Diagnostics, error)
	PlanAction(ctx context.Context, action string, req *PlanRequest) (*PlanResponse, Diagnostics, error)
	// RunAction runs an action; req.UI receives its logs and progress as
	// they happen and req.Target serves its communicator calls.
	RunAction(ctx context.Context, action string, req *RunRequest) (*RunResponse, error)
}

// ErrUnknownPlugin is wrapped by the error a host returns for a plugin
// name it cannot find: a configuration mistake, unlike a plugin that exists
// but fails to start.
var ErrUnknownPlugin = errors.New("unknown plugin")

// InProcess serves a plugin's actions as a Client without a process or a
// wire: for tests (sdktest) and for the gRPC server's own dispatch. A panic
// in an action becomes an error diagnostic naming the plugin.
func InProcess(p *Plugin) Client {
	ip := &inProcess{plugin: p, schema: p.Schema(), actions: map[string]Action{}}
	for _, a := range p.Actions {
		ip.actions[a.Schema().Name] = a
	}
	return ip
}

type inProcess struct {
	plugin  *Plugin
	schema  *schema.Plugin
	actions map[string]Action
}

func (c *inProcess) GetSchema(context.Context) (*schema.Plugin, error) { return c.schema, nil }

func (c *inProcess) action(name string) (Action, Diagnostics) {
	a, ok := c.actions[name]
	if !ok {
		return nil, Diagnostics{}.Errorf(nil, "Unknown action",
			fmt.Sprintf("Plugin %q has no action %q; it has: %v.", c.plugin.Name, name, c.schema.ActionNames()))
	}
	return a, nil
}

func (c *inProcess) ValidateActions(ctx context.Context, reqs []*ValidateRequest) ([]Diagnostics, error) {
	out := make([]Diagnostics, len(reqs))
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = c.validate(ctx, req)
	}
	return out, nil
}

func (c *inProcess) validate(ctx context.Context, req *ValidateRequest) (diags Diagnostics) {
	a, diags := c.action(req.Action)
	if diags.HasErrors() {
		return diags
	}
	req = &ValidateRequest{Action: req.Action, Args: unmarked(req.Args)}
	defer c.recover(req.Action, &diags)
	if v, ok := a.(Validator); ok {
		return v.Validate(ctx, req)
	}
	return nil
}

func (c *inProcess) PlanAction(ctx context.Context, name string, req *PlanRequest) (resp *PlanResponse, diags Diagnostics, err error) {
	a, diags := c.action(name)
	if diags.HasErrors() {
		return nil, diags, nil
	}
	defer c.recover(name, &diags)
	plain := *req
	plain.Args = unmarked(req.Args)
	req = &plain
	p, ok := a.(Planner)
	if !ok {
		return &PlanResponse{Changes: []string{fmt.Sprintf("run %s.%s", c.plugin.Name, name)}}, nil, nil
	}
	resp, perr := p.Plan(ctx, req)
	if perr != nil {
		diags = diags.Errorf(nil, "Plan failed", perr.Error())
	}
	return resp, diags, nil
}

func (c *inProcess) RunAction(ctx context.Context, name string, req *RunRequest) (resp *RunResponse, err error) {
	a, diags := c.action(name)
	if diags.HasErrors() {
		return &RunResponse{Diagnostics: diags}, nil
	}
	resp = &RunResponse{}
	defer c.recover(name, &resp.Diagnostics)
	plain := *req
	plain.Args = unmarked(req.Args)
	out, rerr := a.Run(ctx, &plain)
	if rerr != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Action failed", rerr.Error())
		return resp, nil
	}
	if out != nil {
		resp.Diagnostics = append(resp.Diagnostics, out.Diagnostics...)
		resp.Outputs = out.Outputs
	}
	resp.Outputs, err = conformOutputs(resp.Outputs, a.Schema().OutputsType())
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Invalid plugin outputs",
			fmt.Sprintf("Plugin %q returned outputs that do not match its schema: %s. This is a bug in the plugin.", c.plugin.Name, err))
	}
	return resp, nil
}

func (c *inProcess) recover(action string, diags *Diagnostics) {
	if r := recover(); r != nil {
		*diags = append(*diags, Diagnostic{Severity: Error, Summary: "Plugin panicked", Code: CodePluginPanicked,
			Detail: fmt.Sprintf("Plugin %q panicked in action %q: %v\n\n%s", c.plugin.Name, action, r, debug.Stack())})
	}
}

// unmarked strips marks: actions get plain values, as Terraform's providers
// do. Which values are sensitive is zrun's business: it masks them in
// everything an action prints or returns.
func unmarked(v cty.Value) cty.Value {
	if v == cty.NilVal {
		return v
	}
	v, _ = v.UnmarkDeep()
	return v
}

// conformOutputs converts outputs to the declared type, filling missing
// attributes with nulls.
func conformOutputs(v cty.Value, ty cty.Type) (cty.Value, error) {
	if v == cty.NilVal || v.IsNull() {
		attrs := map[string]cty.Value{}
		for n, at := range ty.AttributeTypes() {
			attrs[n] = cty.NullVal(at)
		}
		return cty.ObjectVal(attrs), nil
	}
	if v.Type().IsObjectType() {
		attrs := v.AsValueMap()
		if attrs == nil {
			attrs = map[string]cty.Value{}
		}
		for n, at := range ty.AttributeTypes() {
			if _, ok := attrs[n]; !ok {
				attrs[n] = cty.NullVal(at)
			}
		}
		v = cty.ObjectVal(attrs)
	}
	return convert.Convert(v, ty)
}

// Interface guards
var _ Client = (*inProcess)(nil)
