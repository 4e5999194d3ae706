package secrets

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
)

// Referenced returns the names of the secrets wf uses, sorted, each once:
// every secret.NAME in its steps (meta-arguments and the action's
// arguments, or the params a step passes to a workflow it calls), its
// on_failure and finally steps and its outputs, and in every workflow it
// calls, recursively. It reads the syntax only, before any schema is
// known, so a secret in an argument the action does not have counts too:
// validation reports that argument. Whether the names are declared is
// not checked here either; evaluating the reference reports that.
//
// A step off says cannot run (its when is false in the environment, say)
// is left out, with the workflow it calls; off may be nil.
func Referenced(cfg *dsl.Config, wf *dsl.Workflow, off func(*dsl.Workflow, *dsl.Step) bool) []string {
	names := map[string]bool{}
	seen := map[*dsl.Workflow]bool{}
	var visit func(wf *dsl.Workflow)
	visit = func(wf *dsl.Workflow) {
		if wf == nil || seen[wf] {
			return
		}
		seen[wf] = true
		var traversals []hcl.Traversal
		for _, s := range wf.AllSteps() {
			if off != nil && off(wf, s) {
				continue
			}
			traversals = append(traversals, bodyTraversals(s.Body)...)
			for _, expr := range []hcl.Expression{s.When, s.ForEach, s.Target} {
				if expr != nil {
					traversals = append(traversals, expr.Variables()...)
				}
			}
			if s.Workflow != "" {
				visit(cfg.Workflows[s.Workflow])
			}
		}
		for _, o := range wf.Outputs {
			if o.Value != nil {
				traversals = append(traversals, o.Value.Variables()...)
			}
		}
		for _, tr := range traversals {
			if tr.RootName() != addrs.RootSecret {
				continue
			}
			if ref, _ := addrs.ParseRef(tr); ref != nil {
				if s, ok := ref.Subject.(addrs.Secret); ok {
					names[s.Name] = true
				}
			}
		}
	}
	visit(wf)
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// bodyTraversals returns the variables of every expression in body and
// its nested blocks, and in the plugin's defaults under it. dsl loads
// native syntax only; another body (none today) would fall back to its
// top-level attributes.
func bodyTraversals(body hcl.Body) []hcl.Traversal {
	var out []hcl.Traversal
	for _, attr := range dsl.DefaultAttributes(body) {
		out = append(out, attr.Expr.Variables()...)
	}
	switch b := dsl.OwnBody(body).(type) {
	case nil:
	case *hclsyntax.Body:
		if b == nil {
			return nil
		}
		for _, attr := range b.Attributes {
			out = append(out, attr.Expr.Variables()...)
		}
		for _, block := range b.Blocks {
			out = append(out, bodyTraversals(block.Body)...)
		}
	default:
		attrs, _ := b.JustAttributes()
		for _, attr := range attrs {
			out = append(out, attr.Expr.Variables()...)
		}
	}
	return out
}
