package dag

// TopologicalOrder returns every vertex after all the vertices it depends on.
// Among vertices whose dependencies are all listed, the earliest-added comes
// first, so the order is stable. On a cyclic graph it returns the
// *CycleError of Validate.
func (g *Graph) TopologicalOrder() ([]Vertex, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g.pick(g.topo()), nil
}

// topo returns the vertex indexes in topological order (Kahn's algorithm).
// On a cyclic graph the members of cycles, and what depends on them, are
// missing.
func (g *Graph) topo() []int {
	pending := make([]int, len(g.vertices))
	order := make([]int, 0, len(g.vertices))
	for i := range g.vertices {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			order = append(order, i)
		}
	}
	for k := 0; k < len(order); k++ {
		for _, d := range g.dependents[order[k]] {
			pending[d]--
			if pending[d] == 0 {
				order = append(order, d)
			}
		}
	}
	return order
}

// TransitiveReduction removes every edge implied by others: if a depends on b
// and b (directly or not) on c, an edge from a to c adds nothing and goes.
// Which vertex may start when is unchanged; the graph just draws more
// clearly. A cyclic graph is left as it is.
func (g *Graph) TransitiveReduction() {
	order := g.topo()
	if len(order) < len(g.vertices) {
		return
	}
	// reach[i] holds, as a bit set, every vertex i depends on directly or not.
	words := (len(g.vertices) + 63) / 64
	reach := make([][]uint64, len(g.vertices))
	for _, i := range order {
		reach[i] = make([]uint64, words)
		implied := make([]uint64, words)
		for _, d := range g.deps[i] {
			reach[i][d/64] |= 1 << (d % 64)
			for w, bits := range reach[d] {
				reach[i][w] |= bits
				implied[w] |= bits
			}
		}
		for _, d := range append([]int(nil), g.deps[i]...) {
			if implied[d/64]&(1<<(d%64)) != 0 {
				g.removeEdge(i, d)
			}
		}
	}
}
