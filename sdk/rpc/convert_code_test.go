package rpc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// TestDiagnosticCodeCrossesTheWire: the host reads a diagnostic's code,
// not its words, so the code must survive the wire.
func TestDiagnosticCodeCrossesTheWire(t *testing.T) {
	in := sdk.Diagnostics{
		{Severity: sdk.Error, Summary: "Plugin panicked", Detail: "boom", Code: sdk.CodePluginPanicked},
		{Severity: sdk.Warning, Summary: "Plain", Path: cty.GetAttrPath("url")},
	}
	out := decodeDiagnostics(encodeDiagnostics(in))
	if diff := cmp.Diff(in, out, cmp.Comparer(func(a, b cty.Path) bool { return a.Equals(b) })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
