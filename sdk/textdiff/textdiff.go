// Package textdiff renders the unified diff a plan shows for a text file
// an action would write: the target's copy against the new content, as
// `diff -u` would, with three lines of context.
package textdiff

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Unified is the unified diff from old (labelled from) to new (labelled
// to), without its final line end; "" when the two have the same lines.
// A missing file is old "" labelled "/dev/null".
func Unified(old, new, from, to string) (string, error) {
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: Lines(old), B: Lines(new), FromFile: from, ToFile: to, Context: 3,
	})
	return strings.TrimSuffix(text, "\n"), err
}

// Lines splits text into lines that each end with "\n", as the diff wants
// them (difflib.SplitLines adds an empty line after a final "\n"). A last
// line without one gets it: the diff does not tell them apart.
func Lines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n"
	return lines
}
