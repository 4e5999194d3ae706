package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/events"
)

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		// down lists plugins that cannot start.
		down []string
		// want lists "Summary @line" for each error, sorted.
		want []string
		// detail, when set, must appear in some diagnostic's detail.
		detail string
	}{
		"valid": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = env.greeting
  }
}`, "environments/e.hcl": `
environment "dev" {
  greeting = "hi"
}
environment "prod" {
  extends = "dev"
}`},
		},
		"unknown plugin action and argument": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = nope.run
  }
  step "b" {
    action = mock.ech
  }
  step "c" {
    action = mock.echo
    colour = "red"
  }
  step "d" {
    action = mock.echo
    fail   = ["not", "a", "bool"]
  }
}`},
			want:   []string{"Incorrect attribute value type @15", "Unknown action @7", "Unknown plugin @4", "Unsupported argument @11"},
			detail: `Did you mean "echo"?`,
		},
		"misspelt meta-argument": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action  = mock.echo
    timeuot = "5s"
  }
}`},
			want:   []string{"Unsupported argument @5"},
			detail: `An argument named "timeuot" is not expected here. Did you mean the step's meta-argument "timeout"?`,
		},
		"undefined references": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = "${param.nope}${env.nope}${step.nope.value}"
  }
}`},
			want: []string{"Reference to undeclared param @5", "Reference to undeclared step @5", "Reference to undefined environment value @5"},
		},
		"cycle names every member": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = step.c.value
  }
  step "b" {
    action = mock.echo
    value  = step.a.value
  }
  step "c" {
    action     = mock.echo
    depends_on = [step.b]
  }
}`},
			want:   []string{"Dependency cycle @3"},
			detail: "step.a -> step.c -> step.b -> step.a",
		},
		"invalid in one environment only": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = env.only_in_dev
  }
}`, "environments/e.hcl": `
environment "dev" {
  only_in_dev = "x"
}
environment "prod" {
}`},
			want:   []string{"Reference to undefined environment value @5"},
			detail: `Environment "prod" has no value "only_in_dev"`,
		},
		"a problem in several environments is one diagnostic": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = env.only_in_dev
  }
}`, "environments/e.hcl": `
environment "dev" {
  only_in_dev = "x"
  other       = 1
}
environment "stage" {
  stage_value = 1
}
environment "prod" {
  prod_value = 1
}`},
			want:   []string{"Reference to undefined environment value @5"},
			detail: `(In environments prod, stage.)`,
		},
		"a plugin that is not found is one diagnostic": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = nope.run
  }
  step "b" {
    action = nope.run
  }
}
workflow "v" {
  step "c" {
    action = nope.other
  }
}`},
			want:   []string{"Unknown plugin @12"}, // workflows are checked in name order
			detail: `It is used by 3 steps, none of which could be checked: step.c of workflow "v", step.a of workflow "w", step.b of workflow "w".`,
		},
		"a plugin that cannot start is one diagnostic": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = down.run
  }
  step "b" {
    action = down.run
  }
  step "c" {
    action = mock.ech
  }
}`, "environments/e.hcl": "environment \"dev\" {}\nenvironment \"prod\" {}\n"},
			down:   []string{"down"},
			want:   []string{"Plugin unavailable @4", "Unknown action @10"},
			detail: `Plugin "down" could not be started: it crashed. It is used by 2 steps`,
		},
		"workflow call checks params": {
			files: map[string]string{"workflows/w.hcl": `
workflow "inner" {
  param "name" { type = string }
}
workflow "w" {
  step "call" {
    workflow = "inner"
    nmae     = "x"
  }
}`},
			want:   []string{"Missing required argument @6", "Unsupported argument @8"},
			detail: `An argument named "nmae" is not expected here. Did you mean "name"?`,
		},
		"main step refers to finally step": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    value  = step.z.value
  }
  finally {
    step "z" {
      action = mock.echo
    }
  }
}`},
			want: []string{"Reference to a step that runs later @5"},
		},
		"bad when and for_each types": {
			files: map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.echo
    when   = "yes please"
  }
  step "b" {
    action   = mock.echo
    for_each = ["a", "b"]
  }
}`},
			want: []string{"Incorrect value type @5", "Invalid for_each @9"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := newMock()
			m.clientErrs = map[string]error{}
			for _, p := range tc.down {
				m.clientErrs[p] = errors.New("it crashed")
			}
			r := newRunner(t, m, &events.Recorder{}, 1, tc.files)
			diags := r.Validate(t.Context())
			if len(tc.down) > 0 && !HasPluginFailure(diags) {
				t.Error("a plugin that cannot start is a plugin failure")
			}
			var got []string
			details := ""
			for _, d := range diags {
				line := 0
				if d.Subject != nil {
					line = d.Subject.Start.Line
				}
				got = append(got, d.Summary+" @"+strconv.Itoa(line))
				details += d.Detail + "\n"
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", diff, diags.Error())
			}
			if tc.detail != "" && !strings.Contains(details, tc.detail) {
				t.Errorf("no detail contains %q:\n%s", tc.detail, details)
			}
		})
	}
}

// TestValidateBatchesPluginCalls: a plugin checks all of a workflow's
// steps in one call per environment, however many steps and instances,
// and each of its diagnostics lands on its own step.
func TestValidateBatchesPluginCalls(t *testing.T) {
	var src strings.Builder
	src.WriteString("workflow \"w\" {\n")
	for i := range 40 {
		fmt.Fprintf(&src, "  step \"s%d\" {\n    action = mock.checked\n    value  = \"ok\"\n  }\n", i)
	}
	src.WriteString(`  step "fan" {
    for_each = toset(["ok", "bad", "fine"])
    action   = mock.checked
    value    = each.value
  }
  step "direct" {
    action = mock.checked
    value  = "bad"
  }
}
`)
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 1, map[string]string{
		"workflows/w.hcl":    src.String(),
		"environments/e.hcl": "environment \"dev\" {}\nenvironment \"prod\" {}\n",
	})
	diags := r.Validate(t.Context())
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%s @%d", d.Summary, d.Subject.Start.Line))
	}
	// 40 steps of 4 lines after line 1: "fan" starts at 162, "direct" at 167.
	want := []string{"Bad value @165", "Bad value @169"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	if n := m.validateCalls.Load(); n != 2 {
		t.Errorf("%d ValidateActions calls, want 2: one per environment", n)
	}
	if n := m.validated.Load(); n != 2*(40+3+1) {
		t.Errorf("%d steps checked, want %d", n, 2*(40+3+1))
	}
}

// TestValidateShortAnswers: a plugin client that answers fewer
// validations than it was asked fails those steps with a diagnostic.
func TestValidateShortAnswers(t *testing.T) {
	m := newMock()
	m.shortAnswers = true
	r := newRunner(t, m, &events.Recorder{}, 1, map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "a" {
    action = mock.checked
    value  = "ok"
  }
}`})
	diags := r.Validate(t.Context())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "answered 0 of 1 validations") {
		t.Fatalf("got %v, want the step failed because the plugin answered 0 of 1", diags)
	}
}

// TestValidatePartialNoEchoes checks that what the loader reports is not
// reported again by Validate, which zrun validate runs on the partial
// config of a project with load errors.
func TestValidatePartialNoEchoes(t *testing.T) {
	cfg, loadDiags := dsl.NewParser().LoadFile(filepath.Join(t.TempDir(), "w.hcl"), []byte(`
workflow "inner" {
  param "n" {
    type    = number
    default = "not a number"
  }
}
workflow "w" {
  step "a" {
    action     = mock.echo
    depends_on = [step.nope]
  }
  step "b" {
    workflow = "inner"
  }
  step "c" {
    workflow = "nowhere"
  }
}`))
	if len(loadDiags) != 3 {
		t.Fatalf("want 3 load errors, got %v", loadDiags)
	}
	if diags := New(Options{Config: cfg, Plugins: newMock()}).Validate(t.Context()); len(diags) > 0 {
		t.Errorf("load errors reported again: %v", diags)
	}
}

// A step whose when is known false in an environment is not validated by
// its plugin there (it never runs there), but is elsewhere; its
// expressions are checked everywhere.
func TestValidateSkipsStepsThatNeverRun(t *testing.T) {
	m := newMock()
	r := newRunner(t, m, &events.Recorder{}, 1, map[string]string{
		"workflows/w.hcl": `
workflow "w" {
  step "hook" {
    when   = env.hook != ""
    action = mock.checked
    value  = env.hook == "" ? "bad" : env.hook
  }
  step "typo" {
    when   = false
    action = mock.checked
    value  = env.nope
  }
}`,
		"environments/e.hcl": "environment \"dev\" {\n  hook = \"\"\n}\nenvironment \"prod\" {\n  hook = \"bad\"\n}\n",
	})
	var got []string
	for _, d := range r.Validate(t.Context()) {
		got = append(got, d.Summary+": "+d.Detail)
	}
	slices.Sort(got)
	if len(got) != 2 || !strings.HasPrefix(got[0], "Bad value: ") || !strings.Contains(got[0], "prod") || strings.Contains(got[0], "dev") ||
		!strings.HasPrefix(got[1], "Reference to undefined environment value") || !strings.Contains(got[1], "dev, prod") {
		t.Errorf("diagnostics %q; want prod's bad value only, and the typo in every environment", got)
	}
}
