package dag

import (
	"cmp"
	"slices"
	"strings"
)

// Text renders the graph as plain text for a terminal: a line per vertex,
// labelled by l, in an order the walk could take (ties in the order added;
// by name if the graph is cyclic), each followed by an indented line per
// vertex it waits for, named by VertexName, with the edge's label in
// parentheses.
func (g *Graph) Text(l Labels) string {
	d := g.drawing(l)
	order := g.topo()
	if len(order) < len(g.vertices) {
		order = d.vertices
	}
	var b strings.Builder
	for _, i := range order {
		b.WriteString(textEscaper.Replace(d.names[i]) + "\n")
		deps := slices.Clone(g.deps[i])
		slices.SortStableFunc(deps, func(a, c int) int { return cmp.Compare(VertexName(g.vertices[a]), VertexName(g.vertices[c])) })
		for _, dep := range deps {
			b.WriteString("    after " + textEscaper.Replace(VertexName(g.vertices[dep])))
			if l.Edge != nil {
				if label := l.Edge(g.vertices[i], g.vertices[dep]); label != "" {
					b.WriteString(" (" + textEscaper.Replace(label) + ")")
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// textEscaper keeps a name on its line.
var textEscaper = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
