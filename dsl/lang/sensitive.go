package lang

import (
	"errors"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Function errors quote their arguments: tonumber("x") says it cannot
// convert "x", and a value derived from a secret (upper, substr of it) is
// beyond what masking the secret's text can catch. So a call whose
// arguments carry a mark, which in zrun always means sensitive, reports
// that it failed, which function and which argument, but never the
// function's own message; and what such a call returns carries Derived
// marks, so its text can be masked too. (lang reads marks, never their
// meaning: any mark counts.)

// hideSensitive returns fns with every function wrapped by
// hideSensitiveFunc.
func hideSensitive(fns map[string]function.Function) map[string]function.Function {
	out := make(map[string]function.Function, len(fns))
	for name, f := range fns {
		out[name] = hideSensitiveFunc(name, f)
	}
	return out
}

// hideSensitiveFunc wraps f so that it behaves as f, except that its
// errors for a call with marked arguments do not quote them. The wrapper's
// parameters allow everything (marks, unknowns, nulls, dynamic types) so
// every call reaches f.Call, which applies f's own rules for them.
func hideSensitiveFunc(name string, f function.Function) function.Function {
	allowAll := func(p function.Parameter) function.Parameter {
		p.AllowMarked, p.AllowUnknown, p.AllowNull, p.AllowDynamicType = true, true, true, true
		return p
	}
	spec := &function.Spec{Description: f.Description()}
	for _, p := range f.Params() {
		spec.Params = append(spec.Params, allowAll(p))
	}
	if vp := f.VarParam(); vp != nil {
		p := allowAll(*vp)
		spec.VarParam = &p
	}
	spec.Type = func(args []cty.Value) (cty.Type, error) {
		ty, err := f.ReturnTypeForValues(args)
		return ty, sensitiveCallError(name, args, err)
	}
	spec.Impl = func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, err := f.Call(args)
		if err != nil {
			return v, sensitiveCallError(name, args, err)
		}
		return markDerived(v), nil
	}
	return function.New(spec)
}

// Derived is a mark on the result of a function called with marked
// arguments: it carries a string the function returned (upper or
// substr of a secret), so the engine can mask that text too, where it
// ends up inside a larger string ("echo ${upper(secret.x)}") that is all
// the engine would know of otherwise.
type Derived struct{ Text string }

// maxDerived bounds the Derived marks of one result (a split of a large
// file secret), so masking stays cheap; a result's first strings get one.
const maxDerived = 256

// markDerived adds a Derived mark to v for each string in it that carries
// marks, itself or through a value holding it: from marked arguments, or
// put there by the function (sensitive("x") inside a larger string is
// masked on its own too). A string the function only moved, unmarked,
// from an argument that was not secret (merge's other keys, concat's other
// elements) is not derived from a secret and gets none: masking it would
// hide a container's name because its environment holds a password.
func markDerived(v cty.Value) cty.Value {
	if !v.ContainsMarked() {
		// The function dropped the marks (nonsensitive), or its result
		// holds nothing of the marked arguments (length, keys).
		return v
	}
	uv, pvms := v.UnmarkDeepWithPaths()
	n := 0
	for i, pvm := range pvms {
		sub, err := pvm.Path.Apply(uv)
		if err != nil || n >= maxDerived {
			continue
		}
		// The marks go where the marked value is, not on the whole
		// result: merge's plain keys stay plain.
		marks := cty.ValueMarks{}
		for m := range pvm.Marks {
			marks[m] = struct{}{}
		}
		_ = cty.Walk(sub, func(_ cty.Path, e cty.Value) (bool, error) {
			if e.IsKnown() && !e.IsNull() && e.Type() == cty.String && e.AsString() != "" {
				marks[Derived{Text: e.AsString()}] = struct{}{}
				n++
			}
			return n < maxDerived, nil
		})
		pvms[i].Marks = marks
	}
	return uv.MarkWithPaths(pvms)
}

// sensitiveCallError is err, or, when any of args is marked, an error
// that names the function and the argument at fault (or the first marked
// one) without f's message. An argument error stays one, so the
// diagnostic points at the argument.
func sensitiveCallError(name string, args []cty.Value, err error) error {
	if err == nil {
		return nil
	}
	first := -1
	for i, a := range args {
		if a.ContainsMarked() {
			first = i
			break
		}
	}
	if first < 0 {
		return err
	}
	const hidden = "the reason is not shown, since it could quote the value"
	var argErr function.ArgError
	if errors.As(err, &argErr) && argErr.Index >= 0 && argErr.Index < len(args) {
		if args[argErr.Index].ContainsMarked() {
			return function.NewArgErrorf(argErr.Index, "invalid value for sensitive argument %d of %s; %s", argErr.Index+1, name, hidden)
		}
		return function.NewArgErrorf(argErr.Index, "invalid value for argument %d of %s, a call with sensitive argument %d; %s", argErr.Index+1, name, first+1, hidden)
	}
	return fmt.Errorf("invalid value for sensitive argument %d of %s; %s", first+1, name, hidden)
}
