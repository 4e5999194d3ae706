package dag

import "strings"

// Dot renders the graph in Graphviz DOT. Vertices and edges are labelled
// by l; arrows go the way the walk runs, from a dependency to the vertex
// that waits for it. Vertices and edges are sorted by name, so the same
// graph always renders the same text.
func (g *Graph) Dot(l Labels) string {
	d := g.drawing(l)
	var b strings.Builder
	b.WriteString("digraph {\n")
	for _, i := range d.vertices {
		b.WriteString("\t" + dotQuote(d.names[i]) + "\n")
	}
	for _, e := range d.edges {
		b.WriteString("\t" + dotQuote(d.names[e.from]) + " -> " + dotQuote(d.names[e.to]))
		if e.label != "" {
			b.WriteString(" [label=" + dotQuote(e.label) + ", style=dashed]")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String()
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")

func dotQuote(s string) string { return `"` + dotEscaper.Replace(s) + `"` }
