package dag

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTopologicalOrder(t *testing.T) {
	tests := map[string]struct {
		g    *Graph
		want []Vertex
	}{
		"empty": {
			g:    build(nil),
			want: []Vertex{},
		},
		"independent keep insertion order": {
			g:    build([]string{"c", "a", "b"}),
			want: []Vertex{"c", "a", "b"},
		},
		"chain added backwards": {
			g:    build(nil, [2]string{"c", "b"}, [2]string{"b", "a"}),
			want: []Vertex{"a", "b", "c"},
		},
		"diamond": {
			g:    build(nil, [2]string{"d", "b"}, [2]string{"d", "c"}, [2]string{"c", "a"}, [2]string{"b", "a"}),
			want: []Vertex{"a", "c", "b", "d"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.g.TopologicalOrder()
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TopologicalOrder (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopologicalOrderCycle(t *testing.T) {
	g := build([]string{"ok"}, [2]string{"a", "b"}, [2]string{"b", "a"})
	got, err := g.TopologicalOrder()
	var cerr *CycleError
	if !errors.As(err, &cerr) || got != nil {
		t.Fatalf("TopologicalOrder = %v, %v; want nil and a *CycleError", got, err)
	}
}

func TestTransitiveReduction(t *testing.T) {
	tests := map[string]struct {
		g    *Graph
		want [][2]string // remaining edges, from > to
	}{
		"chain with shortcuts": {
			g: build(nil,
				[2]string{"d", "c"}, [2]string{"c", "b"}, [2]string{"b", "a"},
				[2]string{"d", "a"}, [2]string{"d", "b"}, [2]string{"c", "a"}),
			want: [][2]string{{"d", "c"}, {"c", "b"}, {"b", "a"}},
		},
		"diamond with shortcut": {
			g: build(nil,
				[2]string{"d", "b"}, [2]string{"d", "c"}, [2]string{"d", "a"},
				[2]string{"b", "a"}, [2]string{"c", "a"}),
			want: [][2]string{{"d", "b"}, {"d", "c"}, {"b", "a"}, {"c", "a"}},
		},
		"nothing to remove": {
			g:    build(nil, [2]string{"b", "a"}, [2]string{"c", "a"}),
			want: [][2]string{{"b", "a"}, {"c", "a"}},
		},
		"cyclic graph left alone": {
			g:    build(nil, [2]string{"a", "b"}, [2]string{"b", "a"}, [2]string{"c", "a"}, [2]string{"c", "b"}),
			want: [][2]string{{"a", "b"}, {"b", "a"}, {"c", "a"}, {"c", "b"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.g.TransitiveReduction()
			if diff := cmp.Diff(tc.want, edgeList(tc.g)); diff != "" {
				t.Errorf("edges after reduction (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTransitiveReductionKeepsReachability checks on random DAGs that the
// reduction keeps every "depends on, directly or not" relation and leaves no
// edge that another path implies.
func TestTransitiveReductionKeepsReachability(t *testing.T) {
	for seed := range 10 {
		g := randomDAG(uint64(seed), 40, 0.2)
		before := closure(g)
		g.TransitiveReduction()
		after := closure(g)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("seed %d: reachability changed (-before +after):\n%s", seed, diff)
		}
		for _, v := range g.Vertices() {
			for _, d := range g.DependsOn(v) {
				for _, other := range g.DependsOn(v) {
					if other != d && after[edgeKey(other, d)] {
						t.Fatalf("seed %d: edge %v>%v kept though %v reaches %v", seed, v, d, other, d)
					}
				}
			}
		}
	}
}

func edgeList(g *Graph) [][2]string {
	var out [][2]string
	for _, v := range g.Vertices() {
		for _, d := range g.DependsOn(v) {
			out = append(out, [2]string{v.(string), d.(string)})
		}
	}
	return out
}

func edgeKey(from, to Vertex) [2]Vertex { return [2]Vertex{from, to} }

// closure returns every pair (v, w) where v depends on w directly or not.
func closure(g *Graph) map[[2]Vertex]bool {
	out := make(map[[2]Vertex]bool)
	for _, v := range g.Vertices() {
		stack := g.DependsOn(v)
		for len(stack) > 0 {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !out[edgeKey(v, w)] {
				out[edgeKey(v, w)] = true
				stack = append(stack, g.DependsOn(w)...)
			}
		}
	}
	return out
}
