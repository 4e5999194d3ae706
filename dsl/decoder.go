package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/funcs"
)

// decoder accumulates diagnostics and state while the files of one project
// are decoded.
type decoder struct {
	diags hcl.Diagnostics
	// valueCtx evaluates environment values: functions, no variables.
	valueCtx *hcl.EvalContext
	// envs holds environments as declared, before inheritance.
	envs map[string]*rawEnv
	// envOrder lists environment names in declaration order.
	envOrder []string
}

func newDecoder(dir string) *decoder {
	return &decoder{
		valueCtx: &hcl.EvalContext{Functions: map[string]function.Function(funcs.Functions(dir))},
		envs:     map[string]*rawEnv{},
	}
}

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "zrun"},
		{Type: "workflow", LabelNames: []string{"name"}},
		{Type: "environment", LabelNames: []string{"name"}},
		{Type: "secret", LabelNames: []string{"name"}},
		{Type: "defaults", LabelNames: []string{"plugin"}},
	},
}

// decodeFile adds the top-level blocks of f to cfg.
func (d *decoder) decodeFile(cfg *Config, f *hcl.File) {
	content, diags := f.Body.Content(fileSchema)
	d.diags = append(d.diags, diags...)
	for _, block := range content.Blocks {
		switch block.Type {
		case "zrun":
			d.decodeProject(cfg, block)
		case "workflow":
			if claim(d, "workflow", block, cfg.Workflows, func(w *Workflow) hcl.Range { return w.NameRange }) {
				cfg.Workflows[block.Labels[0]] = d.decodeWorkflow(block)
			}
		case "environment":
			if claim(d, "environment", block, d.envs, func(e *rawEnv) hcl.Range { return e.nameRange }) {
				d.envs[block.Labels[0]] = d.decodeEnvironment(block)
				d.envOrder = append(d.envOrder, block.Labels[0])
			}
		case "secret":
			if claim(d, "secret", block, cfg.Secrets, func(s *Secret) hcl.Range { return s.DeclRange }) {
				cfg.Secrets[block.Labels[0]] = d.decodeSecret(block)
			}
		case "defaults":
			d.addDefaults(cfg.Defaults, block)
		}
	}
}

// claim reports whether the name of block, a `kind "NAME"` block, is valid
// and not yet taken in declared; otherwise it adds a diagnostic at the
// label, noting where the name was first declared.
func claim[V any](d *decoder, kind string, block *hcl.Block, declared map[string]V, declRange func(V) hcl.Range) bool {
	var first *hcl.Range
	if prev, ok := declared[block.Labels[0]]; ok {
		r := declRange(prev)
		first = &r
	}
	return d.claimName(kind, block.Labels[0], block.LabelRanges[0], first)
}

// claimName is claim for a name written at rng; first is where the name
// was declared before, nil if it was not.
func (d *decoder) claimName(kind, name string, rng hcl.Range, first *hcl.Range) bool {
	if !addrs.ValidName(name) {
		d.errorf(rng, fmt.Sprintf("Invalid %s name", kind),
			"%q is not a valid name. A name starts with a letter and holds only letters, digits, underscores and dashes.", name)
		return false
	}
	if first != nil {
		d.errorf(rng, fmt.Sprintf("Duplicate %s", kind),
			"The %s %q was first declared at %s. Each %s needs a unique name.", kind, name, *first, kind)
		return false
	}
	return true
}

// errorf adds an error diagnostic.
func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// decodeStatic decodes an argument that is read when the project loads,
// before any param or step has a value, so it may not reference anything.
// ctx supplies functions, or is nil for literal values only.
func decodeStatic(expr hcl.Expression, ctx *hcl.EvalContext, target any) hcl.Diagnostics {
	if vars := expr.Variables(); len(vars) > 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Variables not allowed",
			Detail: fmt.Sprintf("This argument is read when the project loads, before params, environment values or steps have values, so it cannot use %s. Write a literal value.",
				addrs.TraversalString(vars[0])),
			Subject: vars[0].SourceRange().Ptr(),
		}}
	}
	return gohcl.DecodeExpression(expr, ctx, target)
}
