package engine

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/events"
)

// A plugin's defaults reach every step of its actions that takes the
// argument and does not set it: the workflow's over the project's, a
// step's own argument over both, in main, on_failure and finally steps
// alike; evaluated in the step's scope.
func TestDefaults(t *testing.T) {
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 2, map[string]string{
		"workflows/defaults.hcl": `
defaults "mock" {
  value      = "project:${env.name}"
  fail_times = 0
}`,
		"workflows/w.hcl": `
workflow "w" {
  param "p" { default = "p" }
  defaults "mock" {
    value = "workflow:${param.p}"
  }
  step "plain" {
    action = mock.echo
  }
  step "own" {
    action = mock.echo
    value  = "own"
  }
  step "each" {
    for_each = toset(["a"])
    action   = mock.echo
  }
  step "checked" {
    action = mock.checked # takes value, not fail_times
  }
  finally {
    step "last" {
      action = mock.echo
    }
  }
  output "values" {
    value = [step.plain.value, step.own.value, step.each["a"].value, step.last.value]
  }
}
workflow "project_only" {
  step "plain" {
    action = mock.echo
  }
  output "value" {
    value = step.plain.value
  }
}`,
		"environments/e.hcl": `environment "dev" {
  name = "dev"
}`,
	})
	if diags := r.Validate(t.Context()); diags.HasErrors() {
		t.Fatalf("validate: %s", diags.Error())
	}
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Env: "dev"})
	if diags.HasErrors() || res.Status != events.StatusOK {
		t.Fatalf("run: %s %s %s", diags.Error(), res.Status, res.Error)
	}
	want := cty.TupleVal([]cty.Value{cty.StringVal("workflow:p"), cty.StringVal("own"), cty.StringVal("workflow:p"), cty.StringVal("workflow:p")})
	if got := res.Outputs["values"]; !got.RawEquals(want) {
		t.Errorf("values %#v, want %#v", got, want)
	}
	res, diags = r.Run(t.Context(), RunRequest{Workflow: "project_only", Env: "dev"})
	if diags.HasErrors() || res.Status != events.StatusOK {
		t.Fatalf("run: %s %s %s", diags.Error(), res.Status, res.Error)
	}
	if got := res.Outputs["value"]; !got.RawEquals(cty.StringVal("project:dev")) {
		t.Errorf("value %#v, want the project's default", got)
	}
}

// A default no action of the plugin takes is a typo, reported once at its
// name with a suggestion, however many workflows use the plugin; so is a
// meta-argument other than target.
func TestDefaultsUnknownArgument(t *testing.T) {
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 2, map[string]string{
		"workflows/defaults.hcl": `
defaults "mock" {
  valeu = "x"
}`,
		"workflows/w.hcl": `
workflow "a" {
  step "s" {
    action = mock.echo
  }
}
workflow "b" {
  step "s" {
    action = mock.echo
  }
}`,
	})
	diags := r.Validate(t.Context())
	text := diags.Error()
	if !strings.Contains(text, "Unsupported argument in defaults") || !strings.Contains(text, `"value"`) {
		t.Fatalf("diagnostics %s; want the unknown default with a suggestion", text)
	}
	if n := strings.Count(text, "Unsupported argument in defaults"); n != 1 {
		t.Errorf("reported %d times, want once: %s", n, text)
	}
	if len(diags) == 0 || diags[0].Subject == nil || !strings.HasSuffix(diags[0].Subject.Filename, "defaults.hcl") || diags[0].Subject.Start.Line != 3 {
		t.Errorf("subject %v, want defaults.hcl:3", diags[0].Subject)
	}
}
