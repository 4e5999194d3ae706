package dsl

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Duration is a length of time written as a string such as "30s", "5m" or
// "1h30m" (Go's time.ParseDuration syntax), with where it was written.
type Duration struct {
	time.Duration
	Range hcl.Range
}

// decodeDuration reads a static duration string from attr. Negative
// durations are rejected, and so is zero unless allowZero.
func decodeDuration(attr *hcl.Attribute, allowZero bool) (*Duration, hcl.Diagnostics) {
	var s string
	if diags := decodeStatic(attr.Expr, nil, &s); diags.HasErrors() {
		return nil, diags
	}
	rng := attr.Expr.Range()
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("%s = %q is not a duration. Write a number with a unit, like \"30s\", \"5m\" or \"1h30m\".", attr.Name, s),
			Subject:  rng.Ptr(),
		}}
	}
	if d < 0 || (d == 0 && !allowZero) {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("%s must be greater than zero.", attr.Name),
			Subject:  rng.Ptr(),
		}}
	}
	return &Duration{Duration: d, Range: rng}, nil
}

// defaultRetryDelay is the delay of a retry block that sets none.
const defaultRetryDelay = time.Second
