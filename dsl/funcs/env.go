package funcs

import (
	"fmt"
	"os"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// EnvFunc is env(NAME) or env(NAME, DEFAULT): the value of a variable of the
// process environment. Without DEFAULT, an unset variable is an error.
var EnvFunc = function.New(&function.Spec{
	Description: "Returns the value of a variable of zrun's process environment, or the default when it is unset.",
	Params: []function.Parameter{
		{Name: "name", Type: cty.String},
	},
	VarParam: &function.Parameter{Name: "default", Type: cty.String},
	Type:     function.StaticReturnType(cty.String),
	// The process environment may change between calls.
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if len(args) > 2 {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(2, "env takes a name and at most one default")
		}
		for i, arg := range args {
			if arg.IsNull() {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(i, "must not be null")
			}
		}
		name := args[0].AsString()
		if v, ok := os.LookupEnv(name); ok {
			return cty.StringVal(v), nil
		}
		if len(args) == 2 {
			return args[1], nil
		}
		return cty.UnknownVal(cty.String), fmt.Errorf("environment variable %s is not set; set it or give a default, like env(%q, \"\")", name, name)
	},
})

// TimestampFunc is timestamp(): the current time in UTC, RFC 3339.
var TimestampFunc = function.New(&function.Spec{
	Description: "Returns the current date and time in UTC, in RFC 3339 format.",
	Params:      []function.Parameter{},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(_ []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(time.Now().UTC().Format(time.RFC3339)), nil
	},
})
