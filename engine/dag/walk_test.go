package dag

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// trace records, under a lock, the order in which a walk starts and
// finishes vertices.
type trace struct {
	mu     sync.Mutex
	events []string
}

func (tr *trace) add(s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append(tr.events, s)
}

func (tr *trace) pos(s string) int {
	for i, e := range tr.events {
		if e == s {
			return i
		}
	}
	return -1
}

func TestWalkDiamond(t *testing.T) {
	g := build(nil, [2]string{"d", "b"}, [2]string{"d", "c"}, [2]string{"b", "a"}, [2]string{"c", "a"})
	var tr trace
	res := g.Walk(t.Context(), func(_ context.Context, v Vertex) error {
		tr.add("start " + v.(string))
		tr.add("end " + v.(string))
		return nil
	})
	if err := res.Err(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if len(tr.events) != 8 {
		t.Fatalf("got %d events, want 8: %v", len(tr.events), tr.events)
	}
	for _, before := range [][2]string{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}} {
		if tr.pos("end "+before[0]) > tr.pos("start "+before[1]) {
			t.Errorf("%s started before %s ended: %v", before[1], before[0], tr.events)
		}
	}
	if len(res.Errors) != 0 || len(res.Skipped) != 0 || res.Aborted != nil {
		t.Errorf("result = %+v, want all succeeded", res)
	}
}

func TestWalkRunsReadyVerticesConcurrently(t *testing.T) {
	const n = 10
	g := build(nil)
	for i := range n {
		g.Add(i)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var started sync.WaitGroup
	started.Add(n)
	res := g.Walk(ctx, func(ctx context.Context, v Vertex) error {
		started.Done()
		// Every call waits for all the others to start: a walker that ran
		// them one at a time would never get past the first.
		allStarted := make(chan struct{})
		go func() { started.Wait(); close(allStarted) }()
		select {
		case <-allStarted:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err := res.Err(); err != nil {
		t.Fatalf("independent vertices did not all run at once: %v", err)
	}
}

func TestWalkFailureSkipsDependents(t *testing.T) {
	// a <- b <- c <- d, a <- e, b and e <- g, and f alone; b fails.
	g := build([]string{"f"},
		[2]string{"b", "a"}, [2]string{"c", "b"}, [2]string{"d", "c"},
		[2]string{"e", "a"}, [2]string{"g", "b"}, [2]string{"g", "e"})
	boom := errors.New("boom")
	var called sync.Map
	res := g.Walk(t.Context(), func(_ context.Context, v Vertex) error {
		called.Store(v, true)
		if v == "b" {
			return boom
		}
		return nil
	})
	var got []string
	called.Range(func(k, _ any) bool { got = append(got, k.(string)); return true })
	if diff := cmp.Diff([]string{"a", "b", "e", "f"}, got, sortStrings); diff != "" {
		t.Errorf("called (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[Vertex]error{"b": boom}, res.Errors, cmpErrors); diff != "" {
		t.Errorf("Errors (-want +got):\n%s", diff)
	}
	wantSkipped := map[Vertex]Vertex{"c": "b", "d": "c", "g": "b"}
	if diff := cmp.Diff(wantSkipped, res.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
	if res.Aborted != nil {
		t.Errorf("Aborted = %v, want nil", res.Aborted)
	}
	if got, want := res.Err().Error(), "b: boom"; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
	if !errors.Is(res.Err(), boom) {
		t.Errorf("Err() does not wrap the vertex's error")
	}
}

func TestWalkPanicFailsVertex(t *testing.T) {
	g := build(nil, [2]string{"b", "a"})
	res := g.Walk(t.Context(), func(_ context.Context, v Vertex) error {
		if v == "a" {
			panic("kaboom")
		}
		return nil
	})
	if err := res.Errors["a"]; err == nil || !strings.HasPrefix(err.Error(), "panic: kaboom\n") {
		t.Errorf("Errors[a] = %v, want a panic error", err)
	}
	if cause, ok := res.Skipped["b"]; !ok || cause != "a" {
		t.Errorf("Skipped[b] = %v, %v; want a, true", cause, ok)
	}
}

func TestWalkCancel(t *testing.T) {
	tests := map[string]struct {
		// cancelOn is the vertex whose call cancels the walk; "" cancels
		// before the walk starts.
		cancelOn    string
		wantCalled  []string
		wantSkipped map[Vertex]Vertex
	}{
		"before the walk": {
			wantSkipped: map[Vertex]Vertex{"a": nil, "b": nil, "c": nil, "x": nil},
		},
		"while a vertex runs": {
			cancelOn:    "a",
			wantCalled:  []string{"a", "x"},
			wantSkipped: map[Vertex]Vertex{"b": nil, "c": nil},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// a <- b <- c, and x alone; x waits until the walk is cancelled.
			g := build([]string{"x"}, [2]string{"b", "a"}, [2]string{"c", "b"})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancelOn == "" {
				cancel()
			}
			var tr trace
			res := g.Walk(ctx, func(ctx context.Context, v Vertex) error {
				tr.add(v.(string))
				switch v {
				case tc.cancelOn:
					cancel()
				case "x":
					<-ctx.Done()
				}
				return nil
			})
			if diff := cmp.Diff(tc.wantCalled, tr.events, sortStrings); diff != "" {
				t.Errorf("called (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSkipped, res.Skipped); diff != "" {
				t.Errorf("Skipped (-want +got):\n%s", diff)
			}
			if !errors.Is(res.Aborted, context.Canceled) || !errors.Is(res.Err(), context.Canceled) {
				t.Errorf("Aborted = %v, Err() = %v; want context.Canceled", res.Aborted, res.Err())
			}
			if len(res.Errors) != 0 {
				t.Errorf("Errors = %v, want none", res.Errors)
			}
		})
	}
}

func TestWalkCyclicGraph(t *testing.T) {
	g := build([]string{"ok"}, [2]string{"a", "b"}, [2]string{"b", "a"})
	res := g.Walk(t.Context(), func(context.Context, Vertex) error {
		t.Error("fn called on a cyclic graph")
		return nil
	})
	var cerr *CycleError
	if !errors.As(res.Aborted, &cerr) {
		t.Errorf("Aborted = %v, want a *CycleError", res.Aborted)
	}
	if diff := cmp.Diff(map[Vertex]Vertex{"ok": nil, "a": nil, "b": nil}, res.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
}

func TestWalkEmpty(t *testing.T) {
	var g Graph
	if err := g.Walk(t.Context(), nil).Err(); err != nil {
		t.Errorf("empty walk: %v", err)
	}
}

// TestWalkRandomDAGs checks on random graphs with random failures that each
// vertex starts only after all its dependencies succeeded, that fn runs for
// exactly the vertices whose dependencies all succeeded, and that every
// other vertex is skipped because of a dependency that failed or was skipped.
func TestWalkRandomDAGs(t *testing.T) {
	for seed := range 50 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := randomDAG(uint64(seed), 80, 0.08)
			fails := func(v Vertex) bool { return v.(int)%11 == seed%11 }
			const (
				notStarted int32 = iota
				running
				succeeded
				failed
			)
			state := make([]atomic.Int32, g.Len())
			var calls atomic.Int32
			res := g.Walk(t.Context(), func(_ context.Context, v Vertex) error {
				calls.Add(1)
				for _, d := range g.DependsOn(v) {
					if s := state[d.(int)].Load(); s != succeeded {
						t.Errorf("%v started while its dependency %v was in state %d", v, d, s)
					}
				}
				if !state[v.(int)].CompareAndSwap(notStarted, running) {
					t.Errorf("%v started twice", v)
				}
				if fails(v) {
					state[v.(int)].Store(failed)
					return errors.New("fail")
				}
				state[v.(int)].Store(succeeded)
				return nil
			})
			order, err := g.TopologicalOrder()
			if err != nil {
				t.Fatal(err)
			}
			ran := make(map[Vertex]bool)
			var wantErrors int
			for _, v := range order {
				ok := true
				for _, d := range g.DependsOn(v) {
					ok = ok && ran[d] && !fails(d)
				}
				ran[v] = ok
				if got := state[v.(int)].Load() != notStarted; got != ok {
					t.Errorf("%v: called = %v, want %v", v, got, ok)
				}
				if ok && fails(v) {
					wantErrors++
				}
				if cause, skipped := res.Skipped[v]; skipped != !ok {
					t.Errorf("%v: skipped = %v, want %v", v, skipped, !ok)
				} else if skipped {
					_, causeFailed := res.Errors[cause]
					_, causeSkipped := res.Skipped[cause]
					if !g.HasEdge(v, cause) || !(causeFailed || causeSkipped) {
						t.Errorf("%v skipped because of %v, which is no failed or skipped dependency", v, cause)
					}
				}
			}
			if got := int(calls.Load()) + len(res.Skipped); got != g.Len() {
				t.Errorf("calls + skipped = %d, want %d vertices", got, g.Len())
			}
			if len(res.Errors) != wantErrors {
				t.Errorf("%d errors, want %d", len(res.Errors), wantErrors)
			}
		})
	}
}

// randomDAG returns a graph of n int vertices, added in a shuffled order,
// where i depends on each j < i with probability p.
func randomDAG(seed uint64, n int, p float64) *Graph {
	rng := rand.New(rand.NewPCG(seed, seed))
	var g Graph
	for _, i := range rng.Perm(n) {
		g.Add(i)
	}
	for i := range n {
		for j := range i {
			if rng.Float64() < p {
				g.Connect(i, j)
			}
		}
	}
	return &g
}

var (
	sortStrings = cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		slices.Sort(out)
		return out
	})
	cmpErrors = cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) })
)

func BenchmarkWalk1000Independent(b *testing.B) {
	var g Graph
	for i := range 1000 {
		g.Add(i)
	}
	benchmarkWalk(b, &g)
}

func BenchmarkWalk1000Chain(b *testing.B) {
	var g Graph
	for i := 1; i < 1000; i++ {
		g.Connect(i, i-1)
	}
	benchmarkWalk(b, &g)
}

func benchmarkWalk(b *testing.B, g *Graph) {
	b.Helper()
	noop := func(context.Context, Vertex) error { return nil }
	ctx := b.Context()
	for b.Loop() {
		if err := g.Walk(ctx, noop).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(g.Len()), "ns/vertex")
}
