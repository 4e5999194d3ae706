package engine

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/events"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests got")

// golden compares got with testdata/NAME, or writes it there with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// TestGraph renders a workflow with every kind of step in every format:
// for_each steps show their collection, when steps their condition,
// on_failure steps follow the main steps ("on failure") and finally steps
// follow both ("finally").
func TestGraph(t *testing.T) {
	r := newRunner(t, newMock(), &events.Recorder{}, 1, map[string]string{"workflows/w.hcl": `
workflow "w" {
  param "go" {
    type    = bool
    default = true
  }
  step "fetch" {
    action = mock.echo
  }
  step "check" {
    for_each = toset(["gateway", "calc"])
    action   = mock.echo
    value    = "${each.key} after ${step.fetch.value}"
  }
  step "migrate" {
    action     = mock.echo
    when       = param.go && length(step.check) > 0
    depends_on = [step.check]
  }
  step "lint" {
    action = mock.echo
  }
  on_failure {
    step "rollback" {
      action = mock.echo
      value  = step.fetch.value
    }
    step "page" {
      action = mock.echo
      value  = step.rollback.value
    }
  }
  finally {
    step "cleanup" {
      action = mock.echo
    }
  }
}`})
	g, labels, diags := r.Graph(t.Context(), "w")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for name, render := range map[string]func() string{
		"graph/w.txt": func() string { return g.Text(labels) },
		"graph/w.dot": func() string { return g.Dot(labels) },
		"graph/w.mmd": func() string { return g.Mermaid(labels) },
	} {
		t.Run(name, func(t *testing.T) { golden(t, name, render()) })
	}
}
