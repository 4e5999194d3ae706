package dsl

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Duration is a length of time written as a string such as "30s", "5m" or
// "1h30m" (Go's time.ParseDuration syntax), with where it was written.
type Duration struct {
	time.Duration
	Range hcl.Range
}

// MaxDuration is the longest duration a configuration may give (a
// timeout, a retry delay), and the longest wait between retries whatever
// their backoff: beyond it a value is a mistake, and close to the limit of
// time.Duration arithmetic overflows.
const MaxDuration = 30 * 24 * time.Hour

// decodeDuration reads a static duration string from attr. Negative
// durations are rejected, and so is zero unless allowZero, and so is one
// longer than MaxDuration.
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
	if d > MaxDuration {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("%s = %q is longer than the longest zrun accepts, %s (30 days).", attr.Name, s, durationString(MaxDuration)),
			Subject:  rng.Ptr(),
		}}
	}
	return &Duration{Duration: d, Range: rng}, nil
}

// durationString renders d without Go's trailing zero units ("720h", not
// "720h0m0s").
func durationString(d time.Duration) string {
	s := d.String()
	for _, zero := range []string{"0s", "0m"} {
		if len(s) > len(zero) && strings.HasSuffix(s, zero) {
			s = strings.TrimSuffix(s, zero)
		}
	}
	return s
}

// defaultRetryDelay is the delay of a retry block that sets none.
const defaultRetryDelay = time.Second
