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
