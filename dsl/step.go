package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// stepSchema lists a step's meta-arguments. Everything else in the block
// belongs to the action (or to the called workflow's params) and stays in
// Step.Body.
var stepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "action"},
		{Name: "workflow"},
		{Name: "depends_on"},
		{Name: "when"},
		{Name: "for_each"},
		{Name: "target"},
		{Name: "parallel"},
		{Name: "batch_size"},
		{Name: "max_failures"},
		{Name: "max_fail_percentage"},
		{Name: "timeout"},
		{Name: "continue_on_error"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "retry"}, {Type: "precondition"}, {Type: "postcondition"}},
}

// conditionSchema is a precondition or postcondition block's.
var conditionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

// MetaArguments returns the names of the arguments every step takes
// besides its action's (or its callee's params), for suggestions.
func MetaArguments() []string {
	names := make([]string, len(stepSchema.Attributes))
	for i, a := range stepSchema.Attributes {
		names[i] = a.Name
	}
	return names
}

// decodeStep decodes a `step "NAME"` block.
func (d *decoder) decodeStep(block *hcl.Block, kind StepKind) *Step {
	s := &Step{
		Name:      block.Labels[0],
		Kind:      kind,
		DeclRange: block.DefRange,
		NameRange: block.LabelRanges[0],
	}
	content, remain, diags := block.Body.PartialContent(stepSchema)
	d.diags = append(d.diags, diags...)
	s.Body = remain

	action, hasAction := content.Attributes["action"]
	call, hasCall := content.Attributes["workflow"]
	switch {
	case hasAction && hasCall:
		d.errorf(call.Range, "Conflicting step arguments",
			"A step either runs an action (action = <plugin>.<action>) or calls a workflow (workflow = \"NAME\"), not both.")
	case hasAction:
		d.decodeAction(s, action)
	case hasCall:
		s.WorkflowRange = call.Expr.Range()
		d.diags = append(d.diags, decodeStatic(call.Expr, nil, &s.Workflow)...)
	default:
		d.errorf(block.DefRange, "Missing step action",
			`Step %q needs either action = <plugin>.<action>, like action = http.check, or workflow = "NAME" to call another workflow.`, s.Name)
	}

	for _, attr := range sortedAttributes(content.Attributes) {
		switch attr.Name {
		case "depends_on":
			s.DependsOn = d.decodeDependsOn(attr)
		case "when":
			s.When = attr.Expr
		case "for_each":
			s.ForEach = attr.Expr
		case "target":
			s.Target = attr.Expr
		case "parallel", "batch_size", "max_failures", "max_fail_percentage":
			d.decodeFanout(s, attr)
		case "timeout":
			var diags hcl.Diagnostics
			s.Timeout, diags = decodeDuration(attr, false)
			d.diags = append(d.diags, diags...)
		case "continue_on_error":
			d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &s.ContinueOnError)...)
		}
	}

	d.checkFanout(s, content)
	if hasCall && s.Target != nil {
		d.errorf(s.Target.Range(), "Target on a workflow call",
			"A step that calls a workflow runs no action of its own, so it has no target; set target on the called workflow's steps (a param can carry the host's name).")
	}

	var retry *hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case "retry":
			if retry != nil {
				d.errorf(b.DefRange, "Duplicate retry block", "A step has at most one retry block; the first is at %s.", retry.DefRange)
				continue
			}
			retry = b
			s.Retry = d.decodeRetry(b)
		case "precondition":
			s.Preconditions = append(s.Preconditions, d.decodeCondition(b))
		case "postcondition":
			s.Postconditions = append(s.Postconditions, d.decodeCondition(b))
		}
	}
	return s
}

// decodeCondition reads a precondition or postcondition block.
func (d *decoder) decodeCondition(block *hcl.Block) *Condition {
	content, diags := block.Body.Content(conditionSchema)
	d.diags = append(d.diags, diags...)
	c := &Condition{Kind: block.Type, DeclRange: block.DefRange}
	if a, ok := content.Attributes["condition"]; ok {
		c.Condition = a.Expr
	}
	if a, ok := content.Attributes["error_message"]; ok {
		c.ErrorMessage = a.Expr
	}
	return c
}

// decodeAction reads `action = <plugin>.<action>`.
func (d *decoder) decodeAction(s *Step, attr *hcl.Attribute) {
	tr, diags := hcl.AbsTraversalForExpr(attr.Expr)
	if diags.HasErrors() {
		d.errorf(attr.Expr.Range(), "Invalid action address",
			"An action is written as <plugin>.<action>, without quotes, like action = http.check.")
		return
	}
	a, diags := addrs.ParseAction(tr)
	d.diags = append(d.diags, diags...)
	if !diags.HasErrors() {
		s.Action = &a
	}
}

// decodeDependsOn reads `depends_on = [step.NAME, ...]`.
func (d *decoder) decodeDependsOn(attr *hcl.Attribute) []hcl.Traversal {
	exprs, diags := hcl.ExprList(attr.Expr)
	d.diags = append(d.diags, diags...)
	var out []hcl.Traversal
	for _, e := range exprs {
		tr, diags := hcl.AbsTraversalForExpr(e)
		if !diags.HasErrors() {
			ref, refDiags := addrs.ParseRef(tr)
			if _, ok := refSubject(ref).(addrs.StepRef); ok && !refDiags.HasErrors() && len(ref.Remaining) == 0 {
				out = append(out, tr)
				continue
			}
		}
		d.errorf(e.Range(), "Invalid depends_on reference",
			"depends_on lists steps of the same workflow, like depends_on = [step.migrate].")
	}
	return out
}

// refSubject returns ref's subject, nil for a nil ref.
func refSubject(ref *addrs.Reference) addrs.Referenceable {
	if ref == nil {
		return nil
	}
	return ref.Subject
}

var retrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "attempts", Required: true},
		{Name: "delay"},
		{Name: "backoff"},
		{Name: "max_delay"},
	},
}

// decodeRetry decodes a step's `retry` block.
func (d *decoder) decodeRetry(block *hcl.Block) *Retry {
	r := &Retry{Attempts: 1, Backoff: 1, DeclRange: block.DefRange}
	r.Delay.Duration = defaultRetryDelay
	r.Delay.Range = block.DefRange
	content, diags := block.Body.Content(retrySchema)
	d.diags = append(d.diags, diags...)
	if attr, ok := content.Attributes["attempts"]; ok {
		decodeBetween(d, attr, &r.Attempts, 1, MaxRetryAttempts, "Invalid retry attempts",
			fmt.Sprintf("attempts counts every try, the first included, from 1 to %d.", MaxRetryAttempts))
	}
	if attr, ok := content.Attributes["delay"]; ok {
		if delay, diags := decodeDuration(attr, true); diags.HasErrors() {
			d.diags = append(d.diags, diags...)
		} else {
			r.Delay = *delay
		}
	}
	if attr, ok := content.Attributes["backoff"]; ok {
		decodeBetween(d, attr, &r.Backoff, 1, MaxRetryBackoff, "Invalid retry backoff",
			fmt.Sprintf("backoff multiplies the delay after each attempt, from 1 (the delay stays the same) to %d.", MaxRetryBackoff))
	}
	if attr, ok := content.Attributes["max_delay"]; ok {
		var diags hcl.Diagnostics
		r.MaxDelay, diags = decodeDuration(attr, false)
		d.diags = append(d.diags, diags...)
		if r.MaxDelay != nil && r.MaxDelay.Duration < r.Delay.Duration {
			d.errorf(attr.Expr.Range(), "Invalid retry max_delay",
				"max_delay (%s) is shorter than delay (%s); make it at least as long.", r.MaxDelay.Duration, r.Delay.Duration)
		}
	}
	return r
}

// Bounds of a retry block: more attempts or a steeper backoff are
// mistakes, and the product of the two must stay computable.
const (
	MaxRetryAttempts = 1000
	MaxRetryBackoff  = 100
)

// decodeBetween decodes a static number into target and checks that it is
// from min to max (NaN and infinities are neither); on any error target is
// left at min.
func decodeBetween[T int | float64](d *decoder, attr *hcl.Attribute, target *T, min, max T, summary, detail string) {
	if diags := decodeStatic(attr.Expr, nil, target); diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		*target = min
		return
	}
	if !(*target >= min && *target <= max) {
		d.errorf(attr.Expr.Range(), summary, "%s Got %v.", detail, *target)
		*target = min
	}
}
