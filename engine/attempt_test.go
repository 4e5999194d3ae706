package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// TestAttemptPluginFailureByCode: a plugin's panic is told from a failed
// action by the diagnostic's code, never by its text.
func TestAttemptPluginFailureByCode(t *testing.T) {
	tests := map[string]struct {
		diag       sdk.Diagnostic
		wantPlugin bool
	}{
		"the panic code, whatever the words": {
			diag:       sdk.Diagnostic{Summary: "Kaboom", Detail: "it broke\nstack", Code: sdk.CodePluginPanicked},
			wantPlugin: true,
		},
		"the words without the code": {
			diag: sdk.Diagnostic{Summary: "Plugin panicked", Detail: "an action that says so"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := newMock()
			m.actions["diag"] = &mockAction{
				schema: &schema.Action{Name: "diag"},
				RunActionFn: func(context.Context, *sdk.RunRequest) (*sdk.RunResponse, error) {
					return &sdk.RunResponse{Diagnostics: sdk.Diagnostics{tc.diag}}, nil
				},
			}
			res, _ := run(t, m, 1, `
workflow "w" {
  step "s" {
    action = mock.diag
  }
}`, nil)
			s := res.Steps["step.s"]
			if s.Status != events.StatusFailed {
				t.Fatalf("step %s: %s", s.Status, s.Error)
			}
			if res.PluginFailed != tc.wantPlugin {
				t.Errorf("PluginFailed = %v, want %v (error %q)", res.PluginFailed, tc.wantPlugin, s.Error)
			}
			if tc.wantPlugin && !strings.Contains(s.Error, "panicked: it broke") {
				t.Errorf("error %q does not say the plugin panicked", s.Error)
			}
		})
	}
}
