package lang

import (
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/funcs"
)

// Scope is where an expression is evaluated: the data references read, the
// folder relative paths in functions resolve against, and the current
// for_each instance. A Scope is a plain value; copy it to change Each for
// one instance. Its methods are safe for concurrent use as long as Data's
// are.
type Scope struct {
	Data    Data
	BaseDir string
	// Each is the current instance of a step with for_each; nil outside
	// for_each, where each.key and each.value are errors.
	Each *Each
	// Self is the step's outputs in its postconditions; nil elsewhere,
	// where self is an error.
	Self *cty.Value
}

// functionTables caches funcs.Functions by base folder: the functions hold
// no state, so one table serves every scope on that folder.
var functionTables sync.Map // string → map[string]function.Function

// Functions returns the function table of the scope.
func (s *Scope) Functions() map[string]function.Function {
	if fns, ok := functionTables.Load(s.BaseDir); ok {
		return fns.(map[string]function.Function)
	}
	fns, _ := functionTables.LoadOrStore(s.BaseDir, hideSensitive(funcs.Functions(s.BaseDir)))
	return fns.(map[string]function.Function)
}

// EvalExpr evaluates expr and converts the result to want
// (cty.DynamicPseudoType for no conversion). On error the value is unknown
// and the diagnostics point at the expression or the reference at fault.
func (s *Scope) EvalExpr(expr hcl.Expression, want cty.Type) (cty.Value, hcl.Diagnostics) {
	refs, diags := ReferencesInExpr(expr)
	ctx, moreDiags := s.EvalContext(refs)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return cty.UnknownVal(want), diags
	}
	val, moreDiags := expr.Value(ctx)
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return cty.UnknownVal(want), diags
	}
	if want == cty.DynamicPseudoType {
		return val, diags
	}
	conv, err := convert.Convert(val, want)
	if err != nil {
		return cty.UnknownVal(want), append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect value type",
			Detail:      fmt.Sprintf("Invalid expression value: %s.", err),
			Subject:     expr.Range().Ptr(),
			Expression:  expr,
			EvalContext: ctx,
		})
	}
	return conv, diags
}

// EvalBody decodes body against spec, a plugin action's schema, with
// every reference in it resolved.
func (s *Scope) EvalBody(body hcl.Body, spec hcldec.Spec) (cty.Value, hcl.Diagnostics) {
	refs, diags := ReferencesInBody(body, spec)
	ctx, moreDiags := s.EvalContext(refs)
	diags = append(diags, moreDiags...)
	// Broken references evaluate as unknown, so decoding goes on and
	// reports the body's other problems (unknown arguments, wrong types) too.
	val, moreDiags := hcldec.Decode(body, spec, ctx)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return cty.UnknownVal(hcldec.ImpliedType(spec)), diags
	}
	return val, diags
}

// EvalContext builds an evaluation context holding the functions and the
// objects refs name, and nothing else: a root no reference uses is left
// out, so its values are never computed.
func (s *Scope) EvalContext(refs []*addrs.Reference) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	roots := map[string]map[string]cty.Value{}
	set := func(root, name string, val cty.Value, moreDiags hcl.Diagnostics) {
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			// Unknown keeps evaluation from piling more errors on this one.
			val = cty.DynamicVal
		}
		if roots[root] == nil {
			roots[root] = map[string]cty.Value{}
		}
		roots[root][name] = val
	}
	for _, ref := range refs {
		rng := ref.SourceRange
		if each, ok := ref.Subject.(addrs.Each); ok {
			if s.Each == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to each outside for_each",
					Detail:   fmt.Sprintf("%s is only available in a step that has for_each.", each),
					Subject:  rng.Ptr(),
				})
				set(addrs.RootEach, each.Attr, cty.DynamicVal, nil)
				continue
			}
			set(addrs.RootEach, addrs.EachKey, s.Each.Key, nil)
			set(addrs.RootEach, addrs.EachValue, s.Each.Value, nil)
			continue
		}
		if _, ok := ref.Subject.(addrs.Self); ok {
			if s.Self == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to self outside a postcondition",
					Detail:   "self is a step's own outputs, only available in that step's postcondition blocks. Elsewhere, name the step: step.NAME.",
					Subject:  rng.Ptr(),
				})
			}
			continue
		}
		if s.Data == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference not allowed here",
				Detail:   fmt.Sprintf("%s cannot be used here: only functions and literal values are allowed.", ref.Subject),
				Subject:  rng.Ptr(),
			})
			root, name, _ := s.lookup(ref.Subject)
			set(root, name, cty.DynamicVal, nil)
			continue
		}
		root, name, get := s.lookup(ref.Subject)
		if _, done := roots[root][name]; !done {
			v, d := get(rng)
			set(root, name, v, d)
		}
	}
	ctx := &hcl.EvalContext{
		Variables: make(map[string]cty.Value, len(roots)),
		Functions: s.Functions(),
	}
	for root, vals := range roots {
		ctx.Variables[root] = cty.ObjectVal(vals)
	}
	if s.Self != nil {
		ctx.Variables[addrs.RootSelf] = *s.Self
	} else if selfRefs(refs) {
		ctx.Variables[addrs.RootSelf] = cty.DynamicVal // reported above
	}
	return ctx, diags
}

// lookup tells where the value of subj goes in the evaluation context (its
// root object and attribute) and how to read it from Data.
func (s *Scope) lookup(subj addrs.Referenceable) (root, name string, get func(hcl.Range) (cty.Value, hcl.Diagnostics)) {
	switch a := subj.(type) {
	case addrs.Param:
		return addrs.RootParam, a.Name, func(r hcl.Range) (cty.Value, hcl.Diagnostics) { return s.Data.GetParam(a, r) }
	case addrs.EnvValue:
		return addrs.RootEnv, a.Name, func(r hcl.Range) (cty.Value, hcl.Diagnostics) { return s.Data.GetEnv(a, r) }
	case addrs.Secret:
		return addrs.RootSecret, a.Name, func(r hcl.Range) (cty.Value, hcl.Diagnostics) { return s.Data.GetSecret(a, r) }
	case addrs.StepRef:
		return addrs.RootStep, a.Name, func(r hcl.Range) (cty.Value, hcl.Diagnostics) { return s.Data.GetStep(a, r) }
	case addrs.RunAttr:
		return addrs.RootRun, a.Name, func(r hcl.Range) (cty.Value, hcl.Diagnostics) { return s.Data.GetRun(a, r) }
	}
	// addrs.ParseRef makes no other kind of subject today; a new one must
	// be added above before it can be evaluated.
	return "", subj.String(), func(r hcl.Range) (cty.Value, hcl.Diagnostics) {
		return cty.DynamicVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported reference",
			Detail:   fmt.Sprintf("%s cannot be evaluated by this version of zrun.", subj),
			Subject:  r.Ptr(),
		}}
	}
}

func selfRefs(refs []*addrs.Reference) bool {
	for _, ref := range refs {
		if _, ok := ref.Subject.(addrs.Self); ok {
			return true
		}
	}
	return false
}
