package engine

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
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
// listing them all.
func suggest(got string, have []string, what string) string {
	if len(have) == 0 {
		return "There are no " + what + "."
	}
	best, bestDist := "", 3
	for _, h := range have {
		if d := levenshtein.Distance(got, h, nil); d < bestDist {
			best, bestDist = h, d
		}
	}
	if best != "" {
		return "Did you mean " + quote(best) + "?"
	}
	return "Available " + what + ": " + strings.Join(have, ", ") + "."
}

func diagsError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags.Errs() {
		msgs = append(msgs, d.Error())
	}
	return errors.New(strings.Join(msgs, "; "))
}
