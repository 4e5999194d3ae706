package dsl

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var workflowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "timeout"}, {Name: "lock"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "param", LabelNames: []string{"name"}},
		{Type: "step", LabelNames: []string{"name"}},
		{Type: "on_failure"},
		{Type: "finally"},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "defaults", LabelNames: []string{"plugin"}},
	},
}

var stepsOnlySchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "step", LabelNames: []string{"name"}}},
}

// decodeWorkflow decodes a `workflow "NAME"` block.
func (d *decoder) decodeWorkflow(block *hcl.Block) *Workflow {
	wf := &Workflow{
		Name:      block.Labels[0],
		Params:    map[string]*Param{},
		Steps:     map[string]*Step{},
		OnFailure: map[string]*Step{},
		Finally:   map[string]*Step{},
		Outputs:   map[string]*Output{},
		Defaults:  map[string]*Defaults{},
		DeclRange: block.DefRange,
		NameRange: block.LabelRanges[0],
	}
	content, diags := block.Body.Content(workflowSchema)
	d.diags = append(d.diags, diags...)
	if attr, ok := content.Attributes["description"]; ok {
		d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &wf.Description)...)
	}
	if attr, ok := content.Attributes["timeout"]; ok {
		var diags hcl.Diagnostics
		wf.Timeout, diags = decodeDuration(attr, false)
		d.diags = append(d.diags, diags...)
	}
	if attr, ok := content.Attributes["lock"]; ok {
		d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &wf.Lock)...)
		if wf.Lock == "" {
			d.errorf(attr.Expr.Range(), "Empty lock", "lock names the key runs of this workflow exclude each other by; remove it to lock the environment.")
		}
	}

	// Step names are unique across the three sets of steps.
	stepRanges := map[string]hcl.Range{}
	addStep := func(b *hcl.Block, kind StepKind, into map[string]*Step, order *[]string) {
		if !claim(d, "step", b, stepRanges, func(r hcl.Range) hcl.Range { return r }) {
			return
		}
		step := d.decodeStep(b, kind)
		stepRanges[step.Name] = step.NameRange
		into[step.Name] = step
		*order = append(*order, step.Name)
	}
	var seen = map[string]hcl.Range{}
	for _, b := range content.Blocks {
		switch b.Type {
		case "param":
			d.addParam(wf, b)
		case "step":
			addStep(b, StepMain, wf.Steps, &wf.StepOrder)
		case "on_failure", "finally":
			if prev, ok := seen[b.Type]; ok {
				d.errorf(b.DefRange, fmt.Sprintf("Duplicate %s block", b.Type),
					"A workflow has at most one %s block; the first is at %s. Put all its steps there.", b.Type, prev)
				continue
			}
			seen[b.Type] = b.DefRange
			inner, diags := b.Body.Content(stepsOnlySchema)
			d.diags = append(d.diags, diags...)
			for _, sb := range inner.Blocks {
				if b.Type == "on_failure" {
					addStep(sb, StepOnFailure, wf.OnFailure, &wf.OnFailureOrder)
				} else {
					addStep(sb, StepFinally, wf.Finally, &wf.FinallyOrder)
				}
			}
		case "output":
			d.addOutput(wf, b)
		case "defaults":
			d.addDefaults(wf.Defaults, b)
		}
	}
	d.checkDependsOn(wf, stepRanges)
	return wf
}

// checkDependsOn reports depends_on entries naming no step of wf, and
// drops them, so that what checks the config next does not report them
// again.
func (d *decoder) checkDependsOn(wf *Workflow, steps map[string]hcl.Range) {
	for _, set := range []map[string]*Step{wf.Steps, wf.OnFailure, wf.Finally} {
		for _, name := range sortedKeys(set) {
			s := set[name]
			s.DependsOn = slices.DeleteFunc(s.DependsOn, func(tr hcl.Traversal) bool {
				target := tr[1].(hcl.TraverseAttr).Name
				if _, ok := steps[target]; ok {
					return false
				}
				d.errorf(tr.SourceRange(), "Reference to undeclared step",
					"Workflow %q has no step named %q. %s", wf.Name, target, Suggest(target, sortedKeys(steps), "steps"))
				return true
			})
		}
	}
}

var paramSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
}

// addParam decodes a `param "NAME"` block into wf.
func (d *decoder) addParam(wf *Workflow, block *hcl.Block) {
	if !claim(d, "param", block, wf.Params, func(p *Param) hcl.Range { return p.DeclRange }) {
		return
	}
	p := &Param{Name: block.Labels[0], Type: cty.DynamicPseudoType, DeclRange: block.DefRange}
	wf.Params[p.Name] = p
	wf.ParamOrder = append(wf.ParamOrder, p.Name)

	content, diags := block.Body.Content(paramSchema)
	d.diags = append(d.diags, diags...)
	d.decodeCommon(content, &p.Description, &p.Sensitive)
	if attr, ok := content.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(attr.Expr)
		d.diags = append(d.diags, diags...)
		if !diags.HasErrors() {
			p.Type = ty
		}
	}
	attr, ok := content.Attributes["default"]
	if !ok {
		return
	}
	// A default that is wrong still makes the param optional: callers
	// leaving it out are not a second error.
	p.Default = cty.UnknownVal(p.Type)
	val, diags := attr.Expr.Value(nil)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return
	}
	conv, err := convert.Convert(val, p.Type)
	if err != nil {
		d.errorf(attr.Expr.Range(), "Invalid default value for param",
			"The default of param %q does not match its type %s: %s.", p.Name, typeexpr.TypeString(p.Type), err)
		return
	}
	p.Default = conv
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"}},
}

// addOutput decodes an `output "NAME"` block into wf.
func (d *decoder) addOutput(wf *Workflow, block *hcl.Block) {
	if !claim(d, "output", block, wf.Outputs, func(o *Output) hcl.Range { return o.DeclRange }) {
		return
	}
	o := &Output{Name: block.Labels[0], DeclRange: block.DefRange}
	wf.Outputs[o.Name] = o
	wf.OutputOrder = append(wf.OutputOrder, o.Name)
	content, diags := block.Body.Content(outputSchema)
	d.diags = append(d.diags, diags...)
	d.decodeCommon(content, &o.Description, &o.Sensitive)
	if attr, ok := content.Attributes["value"]; ok {
		o.Value = attr.Expr
	}
}

// decodeCommon decodes the static description and sensitive arguments of
// params and outputs.
func (d *decoder) decodeCommon(content *hcl.BodyContent, description *string, sensitive *bool) {
	if attr, ok := content.Attributes["description"]; ok {
		d.diags = append(d.diags, decodeStatic(attr.Expr, nil, description)...)
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		d.diags = append(d.diags, decodeStatic(attr.Expr, nil, sensitive)...)
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// sortedAttributes returns attrs in source order.
func sortedAttributes(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Range, out[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}
