package dag

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// renderGraph is built in a scrambled order so the tests show the output is
// sorted: deploy waits for build and test, both of which wait for fetch, and
// a name with quotes and other awkward characters hangs off deploy.
func renderGraph() *Graph {
	g := build([]string{"step.lint"})
	g.Connect(step("deploy"), step("test"))
	g.Connect(step("test"), step("fetch"))
	g.Connect(step("deploy"), step("build"))
	g.Connect(step("build"), step("fetch"))
	g.Connect(`step.notify["a#1"]`, step("deploy"))
	g.Connect("step.odd<\\\n>", step("deploy"))
	return g
}

func TestRender(t *testing.T) {
	tests := map[string]struct {
		render func(*Graph) string
		want   string
	}{
		"dot": {
			render: func(g *Graph) string { return g.Dot(Labels{}) },
			want: `digraph {
	"step.build"
	"step.deploy"
	"step.fetch"
	"step.lint"
	"step.notify[\"a#1\"]"
	"step.odd<\\\n>"
	"step.test"
	"step.build" -> "step.deploy"
	"step.deploy" -> "step.notify[\"a#1\"]"
	"step.deploy" -> "step.odd<\\\n>"
	"step.fetch" -> "step.build"
	"step.fetch" -> "step.test"
	"step.test" -> "step.deploy"
}
`,
		},
		"mermaid": {
			render: func(g *Graph) string { return g.Mermaid(Labels{}) },
			want: `flowchart LR
    n0["step.build"]
    n1["step.deploy"]
    n2["step.fetch"]
    n3["step.lint"]
    n4["step.notify[#quot;a#35;1#quot;]"]
    n5["step.odd#lt;\<br>#gt;"]
    n6["step.test"]
    n0 --> n1
    n1 --> n4
    n1 --> n5
    n2 --> n0
    n2 --> n6
    n6 --> n1
`,
		},
		"dot with a custom name": {
			render: func(g *Graph) string {
				return build(nil, [2]string{"b", "a"}).Dot(Labels{Vertex: func(v Vertex) string { return "v_" + v.(string) }})
			},
			want: "digraph {\n\t\"v_a\"\n\t\"v_b\"\n\t\"v_a\" -> \"v_b\"\n}\n",
		},
		"text": {
			render: func(g *Graph) string { return g.Text(Labels{}) },
			want: `step.lint
step.fetch
step.test
    after step.fetch
step.build
    after step.fetch
step.deploy
    after step.build
    after step.test
step.notify["a#1"]
    after step.deploy
step.odd<\ >
    after step.deploy
`,
		},
		"mermaid of an empty graph": {
			render: func(*Graph) string { return new(Graph).Mermaid(Labels{}) },
			want:   "flowchart LR\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.render(renderGraph())); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderEdgeLabels: labelled edges are drawn distinct from the others
// and carry their label, escaped, in every format.
func TestRenderEdgeLabels(t *testing.T) {
	g := build(nil, [2]string{"b", "a"}, [2]string{"c", "b"})
	l := Labels{Edge: func(from, to Vertex) string {
		if from == "c" {
			return `on "failure" | #1`
		}
		return ""
	}}
	tests := map[string]struct {
		got, want string
	}{
		"dot":     {g.Dot(l), "digraph {\n\t\"a\"\n\t\"b\"\n\t\"c\"\n\t\"a\" -> \"b\"\n\t\"b\" -> \"c\" [label=\"on \\\"failure\\\" | #1\", style=dashed]\n}\n"},
		"mermaid": {g.Mermaid(l), "flowchart LR\n    n0[\"a\"]\n    n1[\"b\"]\n    n2[\"c\"]\n    n0 --> n1\n    n1 -.->|\"on #quot;failure#quot; #124; #35;1\"| n2\n"},
		"text":    {g.Text(l), "a\nb\n    after a\nc\n    after b (on \"failure\" | #1)\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderTiesKeepInsertionOrder(t *testing.T) {
	// Two vertices with the same name keep the order they were added in.
	g := build(nil)
	g.Add(1)
	g.Add("1")
	g.Connect("1", 1)
	want := "flowchart LR\n    n0[\"1\"]\n    n1[\"1\"]\n    n0 --> n1\n"
	if diff := cmp.Diff(want, g.Mermaid(Labels{})); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
