package dsl

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk/schema"
)

// TestMetaArgumentsReserved: every step meta-argument, its blocks (retry,
// precondition, postcondition) included, is reserved in sdk/schema, so that no action can declare an
// argument a step would take for itself.
func TestMetaArgumentsReserved(t *testing.T) {
	want := MetaArguments()
	for _, b := range stepSchema.Blocks {
		want = append(want, b.Type)
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(schema.MetaArguments))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema.MetaArguments (-dsl +schema):\n%s", diff)
	}
}
