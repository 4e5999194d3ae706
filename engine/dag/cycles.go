package dag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Cycles returns every cycle in the graph: each strongly connected component
// with more than one member, and each vertex connected to itself. Members of a
// cycle are listed so that each depends on the next where the component is a
// simple ring (a -> b -> c -> a gives [a b c]), starting with the member added
// first; cycles are ordered by that first member. It returns nil for an
// acyclic graph.
func (g *Graph) Cycles() [][]Vertex {
	var out [][]Vertex
	for _, comp := range g.cycleIndexes() {
		out = append(out, g.pick(comp))
	}
	return out
}

// Validate returns a *CycleError naming every member of every cycle, or nil if
// the graph is acyclic.
func (g *Graph) Validate() error {
	cycles := g.cycleIndexes()
	if len(cycles) == 0 {
		return nil
	}
	err := &CycleError{}
	for _, c := range cycles {
		err.Cycles = append(err.Cycles, g.pick(c))
		err.text = append(err.text, g.describeCycle(c))
	}
	return err
}

// CycleError reports the cycles of a graph that must be acyclic.
type CycleError struct {
	// Cycles is what Graph.Cycles returned.
	Cycles [][]Vertex
	text   []string
}

// Error names every member of every cycle. A simple ring reads
// "a -> b -> a", each arrow meaning "depends on"; a tangle of several
// intertwined cycles lists its members.
func (e *CycleError) Error() string {
	text := e.text
	if text == nil { // built by hand rather than by Validate
		for _, c := range e.Cycles {
			text = append(text, joinNames(c, ", "))
		}
	}
	if len(text) == 1 {
		return "dependency cycle: " + text[0]
	}
	return fmt.Sprintf("%d dependency cycles: %s", len(text), strings.Join(text, "; "))
}

func (g *Graph) describeCycle(c []int) string {
	ring := true
	for k, i := range c {
		if _, ok := g.edges[edge{i, c[(k+1)%len(c)]}]; !ok {
			ring = false
			break
		}
	}
	names := g.pick(c)
	if ring {
		return joinNames(append(names, names[0]), " -> ")
	}
	return "between " + joinNames(names, ", ")
}

func joinNames(vs []Vertex, sep string) string {
	names := make([]string, len(vs))
	for k, v := range vs {
		names[k] = VertexName(v)
	}
	return strings.Join(names, sep)
}

// cycleIndexes returns the cycles as Cycles documents, as vertex indexes.
func (g *Graph) cycleIndexes() [][]int {
	var out [][]int
	for _, comp := range g.components() {
		if len(comp) == 1 {
			if _, self := g.edges[edge{comp[0], comp[0]}]; !self {
				continue
			}
		}
		out = append(out, g.ringOrder(comp))
	}
	slices.SortFunc(out, func(a, b []int) int { return cmp.Compare(a[0], b[0]) })
	return out
}

// ringOrder orders the members of a strongly connected component by a
// depth-first walk along dependency edges from its earliest-added member, so
// a simple ring comes out in the order its edges go.
func (g *Graph) ringOrder(comp []int) []int {
	in := make(map[int]bool, len(comp))
	for _, i := range comp {
		in[i] = true
	}
	out := make([]int, 0, len(comp))
	stack := []int{slices.Min(comp)}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !in[i] {
			continue
		}
		in[i] = false
		out = append(out, i)
		for _, d := range slices.Backward(g.deps[i]) {
			stack = append(stack, d)
		}
	}
	return out
}

// components returns the strongly connected components (Tarjan's algorithm,
// iterative so a long chain cannot exhaust the stack).
func (g *Graph) components() [][]int {
	n := len(g.vertices)
	index := make([]int, n) // 0: not visited yet; else visit order, from 1
	low := make([]int, n)
	onStack := make([]bool, n)
	var stack []int
	var out [][]int
	type frame struct{ v, next int }
	var calls []frame
	counter := 0
	visit := func(v int) {
		counter++
		index[v], low[v] = counter, counter
		stack = append(stack, v)
		onStack[v] = true
		calls = append(calls, frame{v: v})
	}
	for root := range n {
		if index[root] != 0 {
			continue
		}
		visit(root)
		for len(calls) > 0 {
			top := len(calls) - 1
			v := calls[top].v
			if next := calls[top].next; next < len(g.deps[v]) {
				calls[top].next++
				w := g.deps[v][next]
				if index[w] == 0 {
					visit(w)
				} else if onStack[w] {
					low[v] = min(low[v], index[w])
				}
				continue
			}
			calls = calls[:top]
			if top > 0 {
				parent := calls[top-1].v
				low[parent] = min(low[parent], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			out = append(out, comp)
		}
	}
	return out
}
