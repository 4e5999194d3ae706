package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// withStreamMocks adds mock.produce (writes size bytes to its stream
// output, then fails if fail is set) and mock.consume (reads its from
// stream to the end, counts it in bytes; fails at once if fail is set).
func withStreamMocks(m *mockPlugins) *mockPlugins {
	m.actions["produce"] = &mockAction{
		schema: &schema.Action{Name: "produce",
			Args:    []*schema.Attribute{{Name: "size", Type: cty.Number}, {Name: "fail", Type: cty.Bool}},
			Outputs: []*schema.Attribute{{Name: "stream", Type: cty.String, Stream: true}, {Name: "done", Type: cty.Bool}},
		},
		RunActionFn: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			args, _ := req.Args.UnmarkDeep()
			size, _ := args.GetAttr("size").AsBigFloat().Int64()
			w, err := req.UI.OutputStream("stream")
			if err != nil {
				return nil, err
			}
			if w != nil {
				buf := make([]byte, 64<<10)
				for n := int64(0); n < size; n += int64(len(buf)) {
					if _, err := w.Write(buf[:min(int64(len(buf)), size-n)]); err != nil {
						return nil, err
					}
				}
				_ = w.Close()
			}
			if f := args.GetAttr("fail"); !f.IsNull() && f.True() {
				return nil, errors.New("the dump broke")
			}
			return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"stream": cty.NullVal(cty.String), "done": cty.True})}, nil
		},
	}
	m.actions["consume"] = &mockAction{
		schema: &schema.Action{Name: "consume",
			Args:    []*schema.Attribute{{Name: "from", Type: cty.String, Stream: true}, {Name: "fail", Type: cty.Bool}},
			Outputs: []*schema.Attribute{{Name: "bytes", Type: cty.Number}},
		},
		RunActionFn: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			args, _ := req.Args.UnmarkDeep()
			if f := args.GetAttr("fail"); !f.IsNull() && f.True() {
				return nil, errors.New("the upload was refused")
			}
			r, err := req.UI.InputStream("from")
			if err != nil {
				return nil, err
			}
			var n int64
			if r != nil {
				defer r.Close()
				if n, err = io.Copy(io.Discard, r); err != nil {
					return nil, err
				}
			}
			return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"bytes": cty.NumberIntVal(n)})}, nil
		},
	}
	return m
}

func TestPipeRuns(t *testing.T) {
	tests := map[string]struct {
		producer, consumer string // extra arguments
		want               map[string]events.Status
		wantErr            map[string]string
		wantBytes          int64
	}{
		"both succeed": {
			want:      map[string]events.Status{"step.dump": events.StatusOK, "step.load": events.StatusOK},
			wantBytes: 8 << 20,
		},
		"the producer fails after writing": {
			producer: "fail = true",
			want:     map[string]events.Status{"step.dump": events.StatusFailed, "step.load": events.StatusFailed},
			wantErr:  map[string]string{"step.load": "Action failed: step.dump failed: the dump broke"},
		},
		"the consumer fails": {
			consumer: "fail = true",
			want:     map[string]events.Status{"step.dump": events.StatusCancelled, "step.load": events.StatusFailed},
			wantErr:  map[string]string{"step.dump": "its stream's consumer step.load ended before the stream did"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := withStreamMocks(newMock())
			// Parallelism 1: a pipeline holds one slot, not two.
			res, _ := run(t, m, 1, `
workflow "w" {
  step "first" {
    action = mock.echo
    value  = "x"
  }
  step "dump" {
    action = mock.produce
    size   = 8388608
    depends_on = [step.first]
    `+tc.producer+`
  }
  step "load" {
    action = mock.consume
    from   = step.dump.stream
    `+tc.consumer+`
  }
}`, nil)
			got := statuses(res)
			for addr, want := range tc.want {
				if got[addr] != want {
					t.Errorf("%s: status %s (%s), want %s", addr, got[addr], res.Steps[addr].Error, want)
				}
			}
			for addr, want := range tc.wantErr {
				if e := res.Steps[addr].Error; !strings.Contains(e, want) {
					t.Errorf("%s: error %q, want it to contain %q", addr, e, want)
				}
			}
			if tc.wantBytes > 0 {
				if b := res.Steps["step.load"].Outputs.GetAttr("bytes"); !b.RawEquals(cty.NumberIntVal(tc.wantBytes)) {
					t.Errorf("load read %#v bytes, want %d", b, tc.wantBytes)
				}
			}
		})
	}
}

// TestPipeStartsTogether: the consumer does not wait for its producer.
func TestPipeStartsTogether(t *testing.T) {
	m := withStreamMocks(newMock())
	started := make(chan struct{})
	inner := m.actions["consume"].RunActionFn
	m.actions["consume"].RunActionFn = func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
		close(started)
		return inner(ctx, req)
	}
	prod := m.actions["produce"].RunActionFn
	m.actions["produce"].RunActionFn = func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			return nil, errors.New("the consumer did not start while the producer ran")
		}
		return prod(ctx, req)
	}
	res, _ := run(t, m, 4, `
workflow "w" {
  step "dump" {
    action = mock.produce
    size   = 10
  }
  step "load" {
    action = mock.consume
    from   = step.dump.stream
  }
}`, nil)
	if res.Status != events.StatusOK {
		t.Fatalf("status %s: %s", res.Status, res.Error)
	}
}

func TestPipeValidation(t *testing.T) {
	const producer = `
  step "dump" {
    action = mock.produce
    size   = 1
  }
`
	tests := map[string]struct {
		steps, outputs string
		want           string // a summary
	}{
		"two consumers": {
			steps: producer + `
  step "a" {
    action = mock.consume
    from   = step.dump.stream
  }
  step "b" {
    action = mock.consume
    from   = step.dump.stream
  }`,
			want: "Stream with more than one consumer",
		},
		"a stream in an argument that takes a value": {
			steps: producer + `
  step "a" {
    action = mock.echo
    value  = step.dump.stream
  }`,
			want: "Invalid use of a stream",
		},
		"a stream inside an expression": {
			steps: producer + `
  step "a" {
    action = mock.consume
    from   = "${step.dump.stream}"
  }`,
			want: "Invalid use of a stream",
		},
		"a consumer that waits for its producer": {
			steps: producer + `
  step "a" {
    action = mock.consume
    from   = step.dump.stream
    depends_on = [step.dump]
  }`,
			want: "Step waits for its stream's producer",
		},
		"a producer that waits for its consumer": {
			steps: `
  step "dump" {
    action = mock.produce
    size   = 1
    depends_on = [step.a]
  }
  step "a" {
    action = mock.consume
    from   = step.dump.stream
  }`,
			want: "Stream's producer waits for its consumer",
		},
		"a for_each consumer": {
			steps: producer + `
  step "a" {
    action   = mock.consume
    for_each = ["x"]
    from     = step.dump.stream
  }`,
			want: "Stream into a for_each step",
		},
		"a for_each producer": {
			steps: `
  step "dump" {
    action   = mock.produce
    for_each = toset(["x"])
    size     = 1
  }
  step "a" {
    action = mock.consume
    from   = step.dump["x"].stream
  }`,
			want: "Stream of a for_each step",
		},
		"retry on the producer": {
			steps: `
  step "dump" {
    action = mock.produce
    size   = 1
    retry {
      attempts = 2
    }
  }
  step "a" {
    action = mock.consume
    from   = step.dump.stream
  }`,
			want: "Retry on a piped step",
		},
		"a stream in a workflow output": {
			steps:   producer,
			outputs: `output "o" { value = step.dump.stream }`,
			want:    "Invalid use of a stream",
		},
		"a finally step reading a main step's stream": {
			steps: producer + `
  finally {
    step "a" {
      action = mock.consume
      from   = step.dump.stream
    }
  }`,
			want: "Stream from another block",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := withStreamMocks(newMock())
			r := newRunner(t, m, &events.Recorder{}, 4, map[string]string{"workflows/w.hcl": "workflow \"w\" {\n" + tc.steps + "\n" + tc.outputs + "\n}\n"})
			diags := r.Validate(t.Context())
			for _, d := range diags {
				if d.Summary == tc.want {
					if d.Subject == nil || d.Detail == "" {
						t.Errorf("diagnostic %q has no range or no detail", d.Summary)
					}
					return
				}
			}
			t.Fatalf("no %q diagnostic in:\n%s", tc.want, diags.Error())
		})
	}
}

func TestPipeGraph(t *testing.T) {
	m := withStreamMocks(newMock())
	r := newRunner(t, m, &events.Recorder{}, 4, map[string]string{"workflows/w.hcl": `
workflow "w" {
  step "first" {
    action = mock.echo
    value  = "x"
  }
  step "dump" {
    action = mock.produce
    size   = step.first.value == "x" ? 1 : 2
  }
  step "load" {
    action = mock.consume
    from   = step.dump.stream
  }
}`})
	g, labels, diags := r.Graph(t.Context(), "w")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	text := g.Text(labels)
	if !strings.Contains(text, "after step.dump (pipe)") {
		t.Errorf("no pipe edge in:\n%s", text)
	}
	if dot := g.Dot(labels); !strings.Contains(dot, `"step.dump (mock.produce)" -> "step.load (mock.consume)" [label="pipe", style=dashed]`) {
		t.Errorf("no dashed pipe edge in:\n%s", dot)
	}
}

// A producer whose target is read from the environment (target =
// env.db.target, one host) is piped like one with a literal target: its
// stream's value is known before it has run.
func TestPipeTargetFromEnvironment(t *testing.T) {
	m := withStreamMocks(newMock())
	r := newRunner(t, m, &events.Recorder{}, 2, map[string]string{
		"workflows/w.hcl": `
workflow "w" {
  step "dump" {
    action = mock.produce
    target = env.db.target
    size   = 1048576
  }
  step "load" {
    action = mock.consume
    from   = step.dump.stream
  }
}`,
		"environments/e.hcl": `environment "dev" {
  db = { target = "local" }
}`,
	})
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Env: "dev"})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if res.Status != events.StatusOK {
		t.Fatalf("run %s: %s", res.Status, res.Error)
	}
	if b := res.Steps["step.load"].Outputs.GetAttr("bytes"); !b.RawEquals(cty.NumberIntVal(1 << 20)) {
		t.Errorf("load read %#v bytes", b)
	}
}
