package dag

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCycles(t *testing.T) {
	tests := map[string]struct {
		g       *Graph
		want    [][]Vertex
		wantErr string
	}{
		"empty": {
			g: build(nil),
		},
		"acyclic diamond": {
			g: build(nil, [2]string{"d", "b"}, [2]string{"d", "c"}, [2]string{"b", "a"}, [2]string{"c", "a"}),
		},
		"three-cycle": {
			g:       build([]string{"x"}, [2]string{"b", "c"}, [2]string{"a", "b"}, [2]string{"c", "a"}, [2]string{"x", "a"}),
			want:    [][]Vertex{{"b", "c", "a"}},
			wantErr: "dependency cycle: b -> c -> a -> b",
		},
		"self loop": {
			g:       build([]string{"a", "b"}, [2]string{"b", "b"}, [2]string{"b", "a"}),
			want:    [][]Vertex{{"b"}},
			wantErr: "dependency cycle: b -> b",
		},
		"two disjoint cycles": {
			g: build([]string{"p", "q", "a", "b"},
				[2]string{"a", "b"}, [2]string{"b", "a"},
				[2]string{"p", "q"}, [2]string{"q", "p"},
				[2]string{"a", "p"}),
			want:    [][]Vertex{{"p", "q"}, {"a", "b"}},
			wantErr: "2 dependency cycles: p -> q -> p; a -> b -> a",
		},
		"tangle that is no simple ring": {
			// a <-> b and a <-> c: one component, but no single ring.
			g: build(nil,
				[2]string{"a", "b"}, [2]string{"b", "a"},
				[2]string{"a", "c"}, [2]string{"c", "a"}),
			want:    [][]Vertex{{"a", "b", "c"}},
			wantErr: "dependency cycle: between a, b, c",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.g.Cycles()); diff != "" {
				t.Errorf("Cycles (-want +got):\n%s", diff)
			}
			err := tc.g.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: unexpected error %v", err)
				}
				return
			}
			var cerr *CycleError
			if !errors.As(err, &cerr) {
				t.Fatalf("Validate = %v, want a *CycleError", err)
			}
			if got := err.Error(); got != tc.wantErr {
				t.Errorf("Validate error\n got: %s\nwant: %s", got, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, cerr.Cycles); diff != "" {
				t.Errorf("CycleError.Cycles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCycleErrorNamesVertices(t *testing.T) {
	g := build(nil)
	g.Connect(step("a"), step("b"))
	g.Connect(step("b"), step("a"))
	want := "dependency cycle: step.a -> step.b -> step.a"
	if err := g.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %q", err, want)
	}
	handMade := &CycleError{Cycles: [][]Vertex{{step("a"), step("b")}}}
	if got, want := handMade.Error(), "dependency cycle: step.a, step.b"; got != want {
		t.Errorf("hand-made CycleError = %q, want %q", got, want)
	}
}

func TestCyclesLongChain(t *testing.T) {
	// A long chain, then the same chain closed into one big ring: cycle
	// detection must stay linear and find the whole ring in order.
	const n = 20_000
	var g Graph
	for i := range n - 1 {
		g.Connect(i, i+1)
	}
	if c := g.Cycles(); c != nil {
		t.Fatalf("open chain: %d cycles, want none", len(c))
	}
	g.Connect(n-1, 0)
	c := g.Cycles()
	if len(c) != 1 || len(c[0]) != n || c[0][0] != 0 || c[0][n-1] != n-1 {
		t.Fatalf("closed chain: want one ring of %d starting at 0, got %d cycles", n, len(c))
	}
}
