package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// Data supplies the values that references name. The engine implements it
// over the selected environment, the run's params and the steps finished
// so far. Each method reports a missing object as an error diagnostic whose
// Subject is rng, the range of the reference.
type Data interface {
	GetParam(addr addrs.Param, rng hcl.Range) (cty.Value, hcl.Diagnostics)
	GetEnv(addr addrs.EnvValue, rng hcl.Range) (cty.Value, hcl.Diagnostics)
	// GetSecret returns the secret's value, a string marked sensitive (an
	// unknown one while validating, before secrets are resolved).
	GetSecret(addr addrs.Secret, rng hcl.Range) (cty.Value, hcl.Diagnostics)
	// GetStep returns the object of the step's outputs, or a map of such
	// objects keyed like its for_each when it has one.
	GetStep(addr addrs.StepRef, rng hcl.Range) (cty.Value, hcl.Diagnostics)
	GetRun(addr addrs.RunAttr, rng hcl.Range) (cty.Value, hcl.Diagnostics)
}

// Each is the current instance of a step with for_each: each.key and
// each.value.
type Each struct {
	Key, Value cty.Value
}
