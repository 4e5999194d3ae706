package engine

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
)

func quote(s string) string { return strconv.Quote(s) }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns a sentence naming the closest of the available names, or
// listing them.
func suggest(got string, have []string, what string) string { return dsl.Suggest(got, have, what) }

func diagsError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags.Errs() {
		msgs = append(msgs, d.Error())
	}
	return errors.New(strings.Join(msgs, "; "))
}

// hasKind reports whether an error among diags is of the kind its Extra
// marks (pluginFailure, lockFailure, usageError): how callers tell
// failures apart, never by their text.
func hasKind[K any](diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if _, ok := d.Extra.(K); ok && d.Severity == hcl.DiagError {
			return true
		}
	}
	return false
}
