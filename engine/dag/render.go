package dag

import (
	"cmp"
	"slices"
)

// drawing is a graph prepared for a renderer: vertex names, and vertices and
// edges sorted by name so the output is stable whatever order the graph was
// built in.
type drawing struct {
	names    []string // by vertex index
	vertices []int    // sorted by name, ties by insertion order
	edges    []edge   // sorted by names; from is the dependency, to the dependent
}

func (g *Graph) drawing(name func(Vertex) string) drawing {
	if name == nil {
		name = VertexName
	}
	d := drawing{names: make([]string, len(g.vertices))}
	for i, v := range g.vertices {
		d.names[i] = name(v)
		d.vertices = append(d.vertices, i)
	}
	slices.SortStableFunc(d.vertices, func(a, b int) int { return cmp.Compare(d.names[a], d.names[b]) })
	rank := make([]int, len(g.vertices))
	for r, i := range d.vertices {
		rank[i] = r
	}
	for _, i := range d.vertices {
		for _, dep := range g.deps[i] {
			d.edges = append(d.edges, edge{from: dep, to: i})
		}
	}
	slices.SortFunc(d.edges, func(a, b edge) int {
		return cmp.Or(cmp.Compare(rank[a.from], rank[b.from]), cmp.Compare(rank[a.to], rank[b.to]))
	})
	return d
}
