package dag

import (
	"cmp"
	"slices"
)

// Labels say how a rendering names vertices and edges.
type Labels struct {
	// Vertex names a vertex; nil means VertexName.
	Vertex func(Vertex) string
	// Edge labels the edge by which from depends on to; nil, or "", draws
	// it unlabelled.
	Edge func(from, to Vertex) string
}

// drawing is a graph prepared for a renderer: vertex names, and vertices and
// edges sorted by name so the output is stable whatever order the graph was
// built in.
type drawing struct {
	names    []string    // by vertex index
	vertices []int       // sorted by name, ties by insertion order
	edges    []drawnEdge // sorted by names
}

// drawnEdge runs the way the walk does: from the dependency to the
// dependent.
type drawnEdge struct {
	from, to int
	label    string
}

func (g *Graph) drawing(l Labels) drawing {
	name := l.Vertex
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
			e := drawnEdge{from: dep, to: i}
			if l.Edge != nil {
				e.label = l.Edge(g.vertices[i], g.vertices[dep])
			}
			d.edges = append(d.edges, e)
		}
	}
	slices.SortFunc(d.edges, func(a, b drawnEdge) int {
		return cmp.Or(cmp.Compare(rank[a.from], rank[b.from]), cmp.Compare(rank[a.to], rank[b.to]))
	})
	return d
}
