package dag

import (
	"fmt"
	"slices"
)

// Vertex is a node of a Graph. Any comparable value will do (vertices are map
// keys; a non-comparable value such as a slice is a programmer error and
// panics). A vertex that implements NamedVertex or fmt.Stringer is named that
// way in errors and renderings.
type Vertex any

// NamedVertex is a Vertex that names itself in errors and renderings, in HCL
// traversal syntax by convention (step.gateway).
type NamedVertex interface {
	Name() string
}

// VertexName returns the name a vertex is shown with: its Name method, its
// String method, or else its value formatted with %v.
func VertexName(v Vertex) string {
	switch v := v.(type) {
	case NamedVertex:
		return v.Name()
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// Graph is a directed graph meant to be acyclic (Validate says whether it
// is). Its zero value is an empty graph ready to use.
//
// A Graph is not safe for concurrent modification. Once built, any number of
// goroutines may read it (including Walk) as long as nobody modifies it.
type Graph struct {
	vertices []Vertex
	index    map[Vertex]int
	// deps[i] lists the vertices i depends on, dependents[i] those that
	// depend on i, both as indexes into vertices in the order connected.
	deps       [][]int
	dependents [][]int
	edges      map[edge]struct{}
}

type edge struct{ from, to int }

// NewGraph returns an empty graph; it is the same as new(Graph).
func NewGraph() *Graph { return new(Graph) }

// Add adds v to the graph. Adding a vertex twice does nothing.
func (g *Graph) Add(v Vertex) {
	g.add(v)
}

func (g *Graph) add(v Vertex) int {
	if i, ok := g.index[v]; ok {
		return i
	}
	if g.index == nil {
		g.index = make(map[Vertex]int)
		g.edges = make(map[edge]struct{})
	}
	i := len(g.vertices)
	g.index[v] = i
	g.vertices = append(g.vertices, v)
	g.deps = append(g.deps, nil)
	g.dependents = append(g.dependents, nil)
	return i
}

// Connect adds an edge meaning "from depends on to": to must finish before
// from starts. Either vertex is added first if the graph lacks it. Connecting
// the same pair twice does nothing; connecting a vertex to itself makes a
// cycle that Validate reports.
func (g *Graph) Connect(from, to Vertex) {
	f, t := g.add(from), g.add(to)
	e := edge{f, t}
	if _, ok := g.edges[e]; ok {
		return
	}
	g.edges[e] = struct{}{}
	g.deps[f] = append(g.deps[f], t)
	g.dependents[t] = append(g.dependents[t], f)
}

// Has reports whether v is in the graph.
func (g *Graph) Has(v Vertex) bool {
	_, ok := g.index[v]
	return ok
}

// HasEdge reports whether from directly depends on to.
func (g *Graph) HasEdge(from, to Vertex) bool {
	f, ok1 := g.index[from]
	t, ok2 := g.index[to]
	_, ok := g.edges[edge{f, t}]
	return ok1 && ok2 && ok
}

// Len returns the number of vertices.
func (g *Graph) Len() int { return len(g.vertices) }

// Vertices returns every vertex in the order it was first added.
func (g *Graph) Vertices() []Vertex { return slices.Clone(g.vertices) }

// DependsOn returns the vertices v directly depends on, in the order they were
// connected, or nil if v is not in the graph.
func (g *Graph) DependsOn(v Vertex) []Vertex {
	i, ok := g.index[v]
	if !ok {
		return nil
	}
	return g.pick(g.deps[i])
}

// Dependents returns the vertices that directly depend on v, in the order they
// were connected, or nil if v is not in the graph.
func (g *Graph) Dependents(v Vertex) []Vertex {
	i, ok := g.index[v]
	if !ok {
		return nil
	}
	return g.pick(g.dependents[i])
}

func (g *Graph) pick(idx []int) []Vertex {
	out := make([]Vertex, len(idx))
	for k, i := range idx {
		out[k] = g.vertices[i]
	}
	return out
}

// removeEdge deletes the edge from -> to, which must exist.
func (g *Graph) removeEdge(from, to int) {
	delete(g.edges, edge{from, to})
	g.deps[from] = slices.DeleteFunc(g.deps[from], func(i int) bool { return i == to })
	g.dependents[to] = slices.DeleteFunc(g.dependents[to], func(i int) bool { return i == from })
}
