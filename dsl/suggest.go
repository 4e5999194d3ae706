package dsl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// maxListed bounds how many names a suggestion lists when none is close:
// a project with thousands of environments must not print them all in
// every diagnostic.
const maxListed = 10

// Suggest returns a sentence for a diagnostic about an unknown name got:
// the closest of the names in have (at most two edits away), or else a
// list of them (the first few, in the order given); what names their kind, in the plural ("environments").
func Suggest(got string, have []string, what string) string {
	if len(have) == 0 {
		return "There are no " + what + "."
	}
	if best := Closest(got, have); best != "" {
		return "Did you mean " + strconv.Quote(best) + "?"
	}
	if len(have) > maxListed {
		return fmt.Sprintf("Available %s: %s and %d more.", what, strings.Join(have[:maxListed], ", "), len(have)-maxListed)
	}
	return "Available " + what + ": " + strings.Join(have, ", ") + "."
}

// Closest returns the name of have closest to got, at most two edits away
// (hcl's own suggestions use the same distance), or "" if none is.
func Closest(got string, have []string) string {
	best, bestDist := "", 3
	for _, h := range have {
		if d := levenshtein.Distance(got, h, nil); d < bestDist {
			best, bestDist = h, d
		}
	}
	return best
}
