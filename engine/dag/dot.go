package dag

import "strings"

// Dot renders the graph in Graphviz DOT. Vertices are labelled by name (nil
// means VertexName); arrows go the way the walk runs, from a dependency to the
// vertex that waits for it. Vertices and edges are sorted by name, so the
// same graph always renders the same text.
func (g *Graph) Dot(name func(Vertex) string) string {
	d := g.drawing(name)
	var b strings.Builder
	b.WriteString("digraph {\n")
	for _, i := range d.vertices {
		b.WriteString("\t" + dotQuote(d.names[i]) + "\n")
	}
	for _, e := range d.edges {
		b.WriteString("\t" + dotQuote(d.names[e.from]) + " -> " + dotQuote(d.names[e.to]) + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")

func dotQuote(s string) string { return `"` + dotEscaper.Replace(s) + `"` }
