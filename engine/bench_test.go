package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
)

// benchWorkflow writes n mock.echo steps, chained or independent.
func benchWorkflow(n int, chain bool) string {
	var b strings.Builder
	b.WriteString("workflow \"w\" {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  step \"s%d\" {\n    action = mock.echo\n", i)
		if chain && i > 0 {
			fmt.Fprintf(&b, "    value = step.s%d.value\n", i-1)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// BenchmarkRun measures the engine's own cost per step: validation, graph,
// walk, evaluation, events. The action does nothing, so what is left is
// overhead. The Direct baseline calls the same action 1,000 times in a
// loop; ns/op of Run minus Direct, divided by 1,000, is the per-step
// overhead (README, Performance).
func BenchmarkRun(b *testing.B) {
	for _, tc := range []struct {
		name  string
		chain bool
	}{{"1000Independent", false}, {"1000Chain", true}} {
		b.Run(tc.name, func(b *testing.B) {
			m := newMock()
			cfg := projectB(b, map[string]string{"workflows/w.hcl": benchWorkflow(1000, tc.chain)})
			r := New(Options{Config: cfg, Plugins: m, Sink: events.Discard, Parallelism: 8})
			b.ReportAllocs()
			for b.Loop() {
				res, diags := r.Run(b.Context(), RunRequest{Workflow: "w"})
				if diags.HasErrors() || res.Status != events.StatusOK {
					b.Fatal(diags.Error(), res)
				}
			}
		})
	}
	b.Run("1000Direct", func(b *testing.B) {
		m := newMock()
		c, _ := m.Client(b.Context(), "mock")
		args := cty.ObjectVal(map[string]cty.Value{"value": cty.NullVal(cty.String), "fail": cty.NullVal(cty.Bool), "fail_times": cty.NullVal(cty.Number)})
		ui := newStepUI(events.Discard, sdk.RunInfo{Step: "step.x"}, nil, newMasker(nil))
		b.ReportAllocs()
		for b.Loop() {
			for i := 0; i < 1000; i++ {
				if _, err := c.RunAction(context.Background(), "echo", &sdk.RunRequest{Args: args, UI: ui}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
