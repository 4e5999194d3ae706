package dag

import (
	"strconv"
	"strings"
)

// Mermaid renders the graph as a Mermaid flowchart, left to right. Vertices
// are labelled by name (nil means VertexName) and get ids n0, n1... in name
// order; arrows go the way the walk runs, from a dependency to the vertex
// that waits for it. The same graph always renders the same text.
func (g *Graph) Mermaid(name func(Vertex) string) string {
	d := g.drawing(name)
	id := make([]string, len(g.vertices))
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for r, i := range d.vertices {
		id[i] = "n" + strconv.Itoa(r)
		b.WriteString("    " + id[i] + `["` + mermaidEscaper.Replace(d.names[i]) + "\"]\n")
	}
	for _, e := range d.edges {
		b.WriteString("    " + id[e.from] + " --> " + id[e.to] + "\n")
	}
	return b.String()
}

// mermaidEscaper writes characters that would end or confuse a quoted label
// as Mermaid entity codes.
var mermaidEscaper = strings.NewReplacer(`#`, "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", "<br>", "\r", "")
