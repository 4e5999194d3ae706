package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/events"
)

// A precondition that does not hold fails its step before the action
// runs, with its error_message at the condition; one that holds lets it
// run. Conditions reading another step make the step wait for it.
func TestRunPreconditions(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  param "want" { default = "a" }
  step "a" {
    action = mock.echo
    value  = "a"
  }
  step "ok" {
    action = mock.echo
    precondition {
      condition     = step.a.value == param.want
      error_message = "a is ${step.a.value}"
    }
  }
  step "refused" {
    action = mock.echo
    value  = "never"
    precondition {
      condition     = step.a.value != param.want
      error_message = "a is ${step.a.value}, so this must not run"
    }
  }
}`, nil)
	want := map[string]events.Status{"step.a": events.StatusOK, "step.ok": events.StatusOK, "step.refused": events.StatusFailed}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if err := res.Steps["step.refused"].Error; !strings.Contains(err, "w.hcl:19,") || !strings.Contains(err, "Precondition failed; a is a, so this must not run") {
		t.Errorf("error %q: want the condition's place and its error_message", err)
	}
	if slices.Contains(m.order, "step.refused") {
		t.Errorf("the refused step's action ran: %v", m.order)
	}
	if i, j := slices.Index(m.order, "step.a"), slices.Index(m.order, "step.ok"); i < 0 || j < i {
		t.Errorf("step.ok ran before step.a, which its precondition reads: %v", m.order)
	}
}

// A postcondition reads the step's outputs as self; one that does not
// hold fails the step (its outputs kept), is retried like any failure,
// and with for_each is checked per instance.
func TestRunPostconditions(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 4, `
workflow "w" {
  step "good" {
    action = mock.echo
    value  = "healthy"
    postcondition {
      condition     = self.value == "healthy"
      error_message = "not healthy"
    }
  }
  step "bad" {
    action = mock.echo
    value  = "sick"
    retry {
      attempts = 3
      delay    = "1ms"
    }
    postcondition {
      condition     = self.value == "healthy"
      error_message = "the service says ${self.value}"
    }
  }
  step "each" {
    action   = mock.echo
    for_each = toset(["1", "22"])
    value    = each.value
    postcondition {
      condition     = length(self.value) == 1
      error_message = "${each.key} is long"
    }
  }
}`, nil)
	want := map[string]events.Status{"step.good": events.StatusOK, "step.bad": events.StatusFailed,
		`step.each["1"]`: events.StatusOK, `step.each["22"]`: events.StatusFailed}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	bad := res.Steps["step.bad"]
	if !strings.Contains(bad.Error, "Postcondition failed; the service says sick") || bad.Attempts != 3 {
		t.Errorf("step.bad: %q after %d attempts; want the postcondition's message after 3", bad.Error, bad.Attempts)
	}
	if v := bad.Outputs; v.IsNull() || v.GetAttr("value").AsString() != "sick" {
		t.Errorf("step.bad's outputs %#v: want them kept", v)
	}
	if err := res.Steps[`step.each["22"]`].Error; !strings.Contains(err, "22 is long") {
		t.Errorf(`step.each["22"]: %q`, err)
	}
}

// Validation checks conditions' expressions (self only in a
// postcondition, and only the action's outputs) but not their truth: a
// condition may be false in an environment the workflow never runs in.
func TestValidateConditions(t *testing.T) {
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 1, map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = "x"
    precondition {
      condition     = false
      error_message = "known false: not reported by validation"
    }
    postcondition {
      condition     = self.nope == "x"
      error_message = "x"
    }
  }
  step "b" {
    action = mock.echo
    value  = self.value
    precondition {
      condition     = self.value == ""
      error_message = "y"
    }
    postcondition {
      condition     = "maybe"
      error_message = "z"
    }
  }
}`})
	var got []string
	for _, d := range r.Validate(t.Context()) {
		got = append(got, d.Summary)
	}
	slices.Sort(got)
	want := []string{"Incorrect value type", "Reference to self outside a postcondition", "Reference to self outside a postcondition", "Unsupported attribute"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// A run evaluates a condition's error_message only when the condition is
// false: a message that makes sense only of a failure cannot fail a step
// whose condition holds.
func TestRunConditionMessageOnlyOnFailure(t *testing.T) {
	m := newMock()
	res, _ := run(t, m, 1, `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = "ok"
    postcondition {
      condition     = true
      error_message = "never shown: ${self.value == "ok" ? null : self.value}"
    }
  }
}`, nil)
	if res.Status != events.StatusOK {
		t.Errorf("run %s: %s", res.Status, res.Error)
	}
}
