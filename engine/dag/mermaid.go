package dag

import (
	"strconv"
	"strings"
)

// Mermaid renders the graph as a Mermaid flowchart, left to right. Vertices
// and edges are labelled by l; vertices get ids n0, n1... in name order;
// arrows go the way the walk runs, from a dependency to the vertex that
// waits for it, dotted when labelled. The same graph always renders the
// same text.
func (g *Graph) Mermaid(l Labels) string {
	d := g.drawing(l)
	id := make([]string, len(g.vertices))
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for r, i := range d.vertices {
		id[i] = "n" + strconv.Itoa(r)
		b.WriteString("    " + id[i] + `["` + mermaidEscaper.Replace(d.names[i]) + "\"]\n")
	}
	for _, e := range d.edges {
		arrow := " --> "
		if e.label != "" {
			arrow = ` -.->|"` + mermaidEscaper.Replace(e.label) + `"| `
		}
		b.WriteString("    " + id[e.from] + arrow + id[e.to] + "\n")
	}
	return b.String()
}

// mermaidEscaper writes characters that would end or confuse a quoted label
// as Mermaid entity codes.
var mermaidEscaper = strings.NewReplacer(`#`, "#35;", "&", "#amp;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;", "\n", "<br>", "\r", "")
