package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// sensitiveMark marks values zrun must never show (see sdk.Sensitive).
const sensitiveMark = sdk.Sensitive

func (r *Runner) scope(data *runData, each *lang.Each) *lang.Scope {
	return &lang.Scope{Data: data, BaseDir: r.opts.Config.Dir, Each: each}
}

// evalWhen evaluates a step's condition; an unset or unknown condition is true.
func evalWhen(scope *lang.Scope, b *boundStep) (bool, hcl.Diagnostics) {
	if b.When == nil {
		return true, nil
	}
	v, diags := scope.EvalExpr(b.When, cty.Bool)
	if diags.HasErrors() || !v.IsKnown() {
		return true, diags
	}
	v, _ = v.Unmark()
	if v.IsNull() {
		return false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid when",
			Detail:   "The condition is null; it must be true or false.",
			Subject:  b.When.Range().Ptr(),
		})
	}
	return v.True(), diags
}

// instance is one run of a step: the only one, one for_each element, or
// one host of the group its target names.
type instance struct {
	key  string // "" without for_each or a group
	each *lang.Each
	// host is the host of a group's instance; fanned says it is one, so
	// its target is not evaluated again.
	host   string
	fanned bool
}

// evalForEach expands a step into its instances. known is false when
// for_each cannot be evaluated yet (validation with unknown inputs), in
// which case one instance with unknown each.key/each.value stands for all.
func evalForEach(scope *lang.Scope, b *boundStep) (insts []instance, known bool, diags hcl.Diagnostics) {
	if b.ForEach == nil {
		return []instance{{}}, true, nil
	}
	v, diags := scope.EvalExpr(b.ForEach, cty.DynamicPseudoType)
	unknown := []instance{{each: &lang.Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}}}
	if diags.HasErrors() {
		return unknown, false, diags
	}
	if !v.IsWhollyKnown() {
		return unknown, false, diags
	}
	if v.IsMarked() {
		return nil, false, forEachDiag(b, "for_each must not be sensitive: its keys are shown as step addresses.")
	}
	ty := v.Type()
	switch {
	case v.IsNull():
		return nil, false, forEachDiag(b, "for_each is null; it must be a map, an object or a set of strings.")
	case ty.IsMapType() || ty.IsObjectType():
		for k, ev := range v.AsValueMap() {
			insts = append(insts, instance{key: k, each: &lang.Each{Key: cty.StringVal(k), Value: ev}})
		}
	case ty.IsSetType() && ty.ElementType() == cty.String:
		for _, ev := range v.AsValueSlice() {
			if ev.IsNull() {
				return nil, false, forEachDiag(b, "for_each contains a null element.")
			}
			insts = append(insts, instance{key: ev.AsString(), each: &lang.Each{Key: ev, Value: ev}})
		}
	case ty.IsListType() || ty.IsTupleType():
		return nil, false, forEachDiag(b, "for_each got a list; convert it with toset(...) so each element has a stable key.")
	default:
		return nil, false, forEachDiag(b, fmt.Sprintf("for_each got %s; it must be a map, an object or a set of strings.", ty.FriendlyName()))
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].key < insts[j].key })
	return insts, true, diags
}

func forEachDiag(b *boundStep, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each", Detail: detail, Subject: b.ForEach.Range().Ptr()}}
}

// evalArgs decodes a step's body against its spec, marking the arguments
// the action declares sensitive.
func evalArgs(scope *lang.Scope, b *boundStep) (cty.Value, hcl.Diagnostics) {
	if b.spec == nil {
		return cty.DynamicVal, nil
	}
	v, diags := scope.EvalBody(b.Body, b.spec)
	if b.action != nil {
		v = markSensitive(v, b.action.Args)
	}
	return v, diags
}

// markSensitive marks the attributes of an object that a schema declares
// sensitive, so they are masked like secrets wherever they go.
func markSensitive(v cty.Value, attrs []*schema.Attribute) cty.Value {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() {
		return v
	}
	var sensitive []string
	for _, a := range attrs {
		if a.Sensitive && v.Type().HasAttribute(a.Name) {
			sensitive = append(sensitive, a.Name)
		}
	}
	if len(sensitive) == 0 {
		return v
	}
	v, marks := v.Unmark()
	m := v.AsValueMap()
	for _, name := range sensitive {
		m[name] = m[name].Mark(sensitiveMark)
	}
	return cty.ObjectVal(m).WithMarks(marks)
}

// pluginDiags converts a plugin's diagnostics to hcl ones, pointing each at
// the argument its path names, or at the step when it names none.
func pluginDiags(b *boundStep, in sdk.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range in {
		rng := b.DeclRange
		if len(d.Path) > 0 {
			if attr, ok := d.Path[0].(cty.GetAttrStep); ok {
				if r := hcldec.SourceRange(b.Body, &hcldec.AttrSpec{Name: attr.Name, Type: cty.DynamicPseudoType}); r.Filename != "" {
					rng = r
				}
			}
		}
		sev := hcl.DiagError
		if d.Severity == sdk.Warning {
			sev = hcl.DiagWarning
		}
		out = append(out, &hcl.Diagnostic{
			Severity: sev,
			Summary:  d.Summary,
			Detail:   d.Detail,
			Subject:  rng.Ptr(),
		})
	}
	return out
}

// checkConditions evaluates a step's precondition or postcondition
// blocks. A condition that is false is an error diagnostic, "Precondition
// failed" with its error_message, at the condition; one that is unknown
// (validation, or a value not known yet) passes. failing says whether a
// false condition is reported: validation checks the expressions only, as
// a condition may rightly be false in an environment the workflow never
// runs in.
func checkConditions(scope *lang.Scope, conds []*dsl.Condition, failing bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, c := range conds {
		if c.Condition == nil || c.ErrorMessage == nil { // the decoder reported it
			continue
		}
		v, moreDiags := scope.EvalExpr(c.Condition, cty.Bool)
		diags = append(diags, moreDiags...)
		if !failing {
			// Validation checks the message's expression too; a run
			// evaluates it only when the condition is false (it may read
			// what only a failure makes sense of).
			_, msgDiags := scope.EvalExpr(c.ErrorMessage, cty.String)
			diags = append(diags, msgDiags...)
		}
		if moreDiags.HasErrors() || !v.IsKnown() {
			continue
		}
		v, _ = v.Unmark()
		if v.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid condition",
				Detail:   "The condition is null; it must be true or false.",
				Subject:  c.Condition.Range().Ptr(),
			})
			continue
		}
		if v.True() || !failing {
			continue
		}
		msg, msgDiags := scope.EvalExpr(c.ErrorMessage, cty.String)
		text := "(error_message could not be evaluated)"
		if !msgDiags.HasErrors() && msg.IsKnown() && !msg.IsNull() {
			m, _ := msg.Unmark() // masked with the step's error, as every secret is
			text = m.AsString()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  strings.ToUpper(c.Kind[:1]) + c.Kind[1:] + " failed",
			Detail:   text,
			Subject:  c.Condition.Range().Ptr(),
			Extra:    conditionFailure{},
		})
	}
	return diags
}

// conditionFailure marks the diagnostic of a false condition.
type conditionFailure struct{}

// selfScope is scope with self, the step's outputs, for its
// postconditions.
func selfScope(scope *lang.Scope, outputs cty.Value) *lang.Scope {
	s := *scope
	s.Self = &outputs
	return &s
}

// selfType is the type of self in a step's postconditions: one
// instance's outputs.
func (b *boundStep) selfType() cty.Type {
	if b.action != nil {
		return b.action.OutputsType()
	}
	return cty.DynamicPseudoType
}
