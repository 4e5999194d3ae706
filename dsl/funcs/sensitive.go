package funcs

import (
	"errors"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/zrun-dev/zrun/sdk"
)

// The mark sensitive puts on a value is sdk.Sensitive, the one the engine
// masks everywhere (output, events, the ledger, errors, plugin logs), so
// sensitive("x") is as hidden as a secret. nonsensitive and issensitive
// read any mark as sensitive: every mark zrun puts on a value means that
// (dsl/lang also marks what functions derive from sensitive values).

// SensitiveFunc is sensitive(value): value marked sensitive.
var SensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowMarked: true, AllowUnknown: true, AllowNull: true, AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return args[0].Mark(sdk.Sensitive), nil
	},
})

// NonsensitiveFunc is nonsensitive(value): value without its sensitive
// mark, for what is safe to show though computed from a secret (a hash,
// a length). As in Terraform, a known value that is not sensitive is an
// error: the call would hide nothing and only mislead. Marks inside a
// collection stay: nonsensitive(tolist([secret.x])) still hides the
// element.
var NonsensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowMarked: true, AllowUnknown: true, AllowNull: true, AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if !v.IsMarked() && v.IsKnown() {
			return cty.NilVal, function.NewArgError(0, errors.New("the given value is not sensitive, so this call is redundant"))
		}
		v, _ = v.Unmark()
		return v, nil
	},
})

// IsSensitiveFunc is issensitive(value): whether value is marked
// sensitive.
var IsSensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowMarked: true, AllowUnknown: true, AllowNull: true, AllowDynamicType: true,
	}},
	Type:         function.StaticReturnType(cty.Bool),
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(args[0].IsMarked()), nil
	},
})
