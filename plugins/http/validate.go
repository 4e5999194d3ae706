package http

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// Arguments are checked with what is known at validation time: values
// computed by earlier steps arrive unknown and are skipped here, then
// checked again by Run.

// known returns an object's attribute when the object has it and its value
// is known and not null.
func known(obj cty.Value, name string) (cty.Value, bool) {
	if !obj.IsKnown() || obj.IsNull() || !obj.Type().IsObjectType() || !obj.Type().HasAttribute(name) {
		return cty.NilVal, false
	}
	v := obj.GetAttr(name)
	return v, v.IsKnown() && !v.IsNull()
}

// validateURLArg checks a string argument (or map element) at path.
func validateURLArg(v cty.Value, path cty.Path) sdk.Diagnostics {
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	if err := checkURL(v.AsString()); err != nil {
		return sdk.Diagnostics{}.Errorf(path, "Invalid URL", err.Error())
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v.", s, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://.", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host.", s)
	}
	return nil
}

// validateDurations checks duration arguments such as "5s" or "1m30s".
func validateDurations(args cty.Value, names ...string) sdk.Diagnostics {
	var diags sdk.Diagnostics
	for _, name := range names {
		v, ok := known(args, name)
		if !ok {
			continue
		}
		if _, err := parseDuration(name, v.AsString()); err != nil {
			diags = diags.Errorf(cty.GetAttrPath(name), "Invalid duration", err.Error())
		}
	}
	return diags
}

func parseDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as \"500ms\", \"5s\" or \"1m30s\"; got %q.", name, s)
	}
	return d, nil
}

// durationOr parses an optional duration argument.
func durationOr(name string, s *string, def time.Duration) (time.Duration, error) {
	if s == nil {
		return def, nil
	}
	return parseDuration(name, *s)
}

// validateExpect checks expect_status and expect_body.
func validateExpect(args cty.Value) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if codes, ok := known(args, "expect_status"); ok {
		lo, hi := big.NewFloat(100), big.NewFloat(599)
		for it := codes.ElementIterator(); it.Next(); {
			k, code := it.Element()
			if !code.IsKnown() {
				continue
			}
			if code.IsNull() || !code.AsBigFloat().IsInt() || code.AsBigFloat().Cmp(lo) < 0 || code.AsBigFloat().Cmp(hi) > 0 {
				diags = diags.Errorf(cty.GetAttrPath("expect_status").Index(k), "Invalid status code",
					"HTTP status codes are whole numbers from 100 to 599.")
			}
		}
	}
	if re, ok := known(args, "expect_body"); ok {
		if _, err := regexp.Compile(re.AsString()); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("expect_body"), "Invalid regular expression",
				fmt.Sprintf("expect_body is a regular expression (RE2 syntax): %s.", err))
		}
	}
	return diags
}

// decodeArgs checks a step's arguments again (a host may run a step
// without validating it first) and decodes them into args. A non-nil
// response or error is what Run should return.
func decodeArgs(ctx context.Context, v sdk.Validator, req *sdk.RunRequest, args any) (*sdk.RunResponse, error) {
	if diags := v.Validate(ctx, &sdk.ValidateRequest{Args: req.Args}); diags.HasErrors() {
		return &sdk.RunResponse{Diagnostics: diags}, nil
	}
	if err := sdk.FromValue(req.Args, args); err != nil {
		return nil, err
	}
	if req.Target == nil || req.UI == nil {
		return nil, errors.New("the host gave the step no target or UI")
	}
	return nil, nil
}
