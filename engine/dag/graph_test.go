package dag

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// build returns a graph with the given vertices added in order, then each
// edge "from>to" (from depends on to) connected.
func build(vertices []string, edges ...[2]string) *Graph {
	var g Graph
	for _, v := range vertices {
		g.Add(v)
	}
	for _, e := range edges {
		g.Connect(e[0], e[1])
	}
	return &g
}

type step string

func (s step) Name() string { return "step." + string(s) }

type stringer int

func (s stringer) String() string { return "#" + string(rune('0'+s)) }

func TestVertexName(t *testing.T) {
	tests := map[string]struct {
		v    Vertex
		want string
	}{
		"named":    {step("a"), "step.a"},
		"stringer": {stringer(3), "#3"},
		"plain":    {42, "42"},
		"nil":      {nil, "<nil>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := VertexName(tc.v); got != tc.want {
				t.Errorf("VertexName(%#v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}

func TestGraphEdges(t *testing.T) {
	var g Graph // the zero value is usable
	g.Add("c")
	g.Connect("a", "b")
	g.Connect("a", "c")
	g.Connect("a", "b") // duplicate, ignored
	g.Connect("d", "b")
	g.Add("a") // already there, ignored

	if diff := cmp.Diff([]Vertex{"c", "a", "b", "d"}, g.Vertices()); diff != "" {
		t.Errorf("Vertices (-want +got):\n%s", diff)
	}
	if got := g.Len(); got != 4 {
		t.Errorf("Len = %d, want 4", got)
	}
	if diff := cmp.Diff([]Vertex{"b", "c"}, g.DependsOn("a")); diff != "" {
		t.Errorf("DependsOn(a) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Vertex{"a", "d"}, g.Dependents("b")); diff != "" {
		t.Errorf("Dependents(b) (-want +got):\n%s", diff)
	}
	if got := g.DependsOn("zz"); got != nil {
		t.Errorf("DependsOn(unknown) = %v, want nil", got)
	}
	if got := g.Dependents("zz"); got != nil {
		t.Errorf("Dependents(unknown) = %v, want nil", got)
	}
	if got := g.DependsOn("b"); len(got) != 0 {
		t.Errorf("DependsOn(b) = %v, want none", got)
	}
	for _, tc := range []struct {
		from, to string
		want     bool
	}{{"a", "b", true}, {"b", "a", false}, {"a", "zz", false}, {"zz", "b", false}} {
		if got := g.HasEdge(tc.from, tc.to); got != tc.want {
			t.Errorf("HasEdge(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	if !g.Has("d") || g.Has("zz") {
		t.Errorf("Has(d) = %v, Has(zz) = %v; want true, false", g.Has("d"), g.Has("zz"))
	}
	// Vertices returns a copy.
	g.Vertices()[0] = "x"
	if g.Vertices()[0] != "c" {
		t.Error("modifying the result of Vertices changed the graph")
	}
}
