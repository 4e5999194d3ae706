package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/lang"
	"github.com/zrun-dev/zrun/engine/dag"
)

// graphTransformer is one pass of graph construction, as in Terraform's
// graph builders: each adds vertices or edges and reports problems.
type graphTransformer interface {
	Transform(g *dag.Graph, steps []*boundStep, all *workflowBinding) hcl.Diagnostics
}

// buildGraph builds the DAG of one set of steps (main, on_failure or
// finally) from the transformers, then checks it for cycles.
func buildGraph(wb *workflowBinding, kind dsl.StepKind) (*dag.Graph, hcl.Diagnostics) {
	steps := wb.set(kind)
	pipes := samePipes(pipesOf(wb, steps))
	g := dag.NewGraph()
	var diags hcl.Diagnostics
	for _, t := range []graphTransformer{
		stepsTransformer{},
		referenceTransformer{kind: kind, pipes: pipeRefs(pipes)},
		dependsOnTransformer{},
		pipeTransformer{pipes: pipes},
	} {
		diags = append(diags, t.Transform(g, steps, wb)...)
	}
	diags = append(diags, streamDiags(wb, kind, steps)...)
	diags = append(diags, cycleDiags(g)...)
	return g, diags
}

// pipeRefs are the source ranges of the pipes' references, which add no
// edge of their own.
func pipeRefs(pipes []*pipeEdge) map[hcl.Range]bool {
	refs := map[hcl.Range]bool{}
	for _, p := range pipes {
		refs[p.ref.SourceRange] = true
	}
	return refs
}

// pipeTransformer makes the two ends of each pipe run together: the
// consumer does not wait for its producer; both wait for what either
// waits for, so both start at once. A consumer that would wait for its producer
// anyway (another of its outputs, depends_on), or a producer that waits
// for its consumer, would wait forever: both are errors.
type pipeTransformer struct{ pipes []*pipeEdge }

func (t pipeTransformer) Transform(g *dag.Graph, _ []*boundStep, _ *workflowBinding) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var live []*pipeEdge
	for _, p := range t.pipes {
		switch {
		case reaches(g, p.consumer, p.producer):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Step waits for its stream's producer",
				Detail: fmt.Sprintf("Step %q reads %s, so it runs while %s runs, but it also waits for %s to finish (another of its outputs, depends_on, or a step between them): it would wait forever. Take what it needs from %s through another step, or drop the pipe.",
					p.consumer.Step.Name, p.ref.String(), p.producer.Name(), p.producer.Name(), p.producer.Name()),
				Subject: refRange(p.ref).Ptr(),
			})
		case reaches(g, p.producer, p.consumer):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Stream's producer waits for its consumer",
				Detail: fmt.Sprintf("Step %q reads %s, which runs only after %s has finished: neither could go on. Remove the reference or depends_on from %s to %s.",
					p.consumer.Step.Name, p.ref.String(), p.consumer.Name(), p.producer.Name(), p.consumer.Name()),
				Subject: refRange(p.ref).Ptr(),
			})
		default:
			live = append(live, p)
		}
	}
	// Both ends wait for what either waits for, so they start together,
	// and are skipped together when one of those fails (an end left alone
	// would wait for the other forever). Inherited dependencies may be
	// inherited again (a chain a | b | c): repeat until none is new.
	for changed := true; changed; {
		changed = false
		for _, p := range live {
			changed = inherit(g, p.consumer, p.producer) || changed
			changed = inherit(g, p.producer, p.consumer) || changed
		}
	}
	return diags
}

// inherit makes v wait for what from waits for, and reports whether it
// added an edge.
func inherit(g *dag.Graph, v, from dag.Vertex) bool {
	added := false
	for _, d := range g.DependsOn(from) {
		if d != v && !g.HasEdge(v, d) {
			g.Connect(v, d)
			added = true
		}
	}
	return added
}

// stepsTransformer adds a vertex per step.
type stepsTransformer struct{}

func (stepsTransformer) Transform(g *dag.Graph, steps []*boundStep, _ *workflowBinding) hcl.Diagnostics {
	for _, s := range steps {
		g.Add(s)
	}
	return nil
}

// referenceTransformer connects a step to every step its expressions refer
// to. A reference into a set that runs later (main to on_failure or
// finally, on_failure to finally) is an error; one into a set that ran
// earlier reads recorded outputs and adds no edge.
type referenceTransformer struct {
	kind dsl.StepKind
	// pipes are the references that are pipes: they add no edge (see
	// pipeTransformer).
	pipes map[hcl.Range]bool
}

func (t referenceTransformer) Transform(g *dag.Graph, steps []*boundStep, wb *workflowBinding) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, s := range steps {
		refs, moreDiags := stepReferences(s)
		diags = append(diags, moreDiags...)
		for _, ref := range refs {
			sr, ok := ref.Subject.(addrs.StepRef)
			if !ok || t.pipes[ref.SourceRange] {
				continue
			}
			target, ok := wb.steps[sr.Name]
			if !ok {
				continue // reported as undeclared when the expression is evaluated
			}
			switch {
			case target.Kind == t.kind:
				g.Connect(s, target)
			case target.Kind > t.kind:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to a step that runs later",
					Detail: fmt.Sprintf("Step %q refers to %s, which is in the %s block and runs after it. A step may refer to steps of its own block and to main steps (from on_failure and finally).",
						s.Step.Name, target.Name(), kindName(target.Kind)),
					Subject: ref.SourceRange.Ptr(),
				})
			}
		}
	}
	return diags
}

// dependsOnTransformer adds the explicit depends_on edges.
type dependsOnTransformer struct{}

func (dependsOnTransformer) Transform(g *dag.Graph, steps []*boundStep, wb *workflowBinding) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, s := range steps {
		for _, tr := range s.DependsOn {
			ref, moreDiags := addrs.ParseRef(tr)
			diags = append(diags, moreDiags...)
			if ref == nil {
				continue
			}
			sr, ok := ref.Subject.(addrs.StepRef)
			target, found := wb.steps[sr.Name]
			switch {
			case !ok:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid depends_on",
					Detail:   "depends_on lists steps only, like [step.migrate].",
					Subject:  ref.SourceRange.Ptr(),
				})
			case !found:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared step",
					Detail:   fmt.Sprintf("depends_on names step %q, which is not in workflow %q. %s", sr.Name, wb.wf.Name, suggest(sr.Name, keys(wb.steps), "steps")),
					Subject:  ref.SourceRange.Ptr(),
				})
			case target.Kind == s.Kind:
				g.Connect(s, target)
			}
		}
	}
	return diags
}

// stepReferences lists the references in a step's expressions: body,
// when, for_each, target and its conditions.
func stepReferences(s *boundStep) ([]*addrs.Reference, hcl.Diagnostics) {
	var refs []*addrs.Reference
	var diags hcl.Diagnostics
	if s.spec != nil {
		r, d := lang.ReferencesInBody(s.Body, s.spec)
		refs, diags = append(refs, r...), append(diags, d...)
	}
	exprs := []hcl.Expression{s.When, s.ForEach, s.Target}
	for _, c := range slices.Concat(s.Preconditions, s.Postconditions) {
		exprs = append(exprs, c.Condition, c.ErrorMessage)
	}
	for _, expr := range exprs {
		if expr == nil {
			continue
		}
		r, d := lang.ReferencesInExpr(expr)
		refs, diags = append(refs, r...), append(diags, d...)
	}
	return refs, diags
}

// cycleDiags reports each dependency cycle, naming every member.
func cycleDiags(g *dag.Graph) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, cycle := range g.Cycles() {
		names := make([]string, len(cycle))
		for i, v := range cycle {
			names[i] = dag.VertexName(v)
		}
		first := cycle[0].(*boundStep)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle",
			Detail: fmt.Sprintf("These steps depend on each other in a cycle: %s -> %s. Remove a reference or a depends_on entry to break it.",
				strings.Join(names, " -> "), names[0]),
			Subject: first.NameRange.Ptr(),
		})
	}
	return diags
}

func kindName(k dsl.StepKind) string {
	switch k {
	case dsl.StepOnFailure:
		return "on_failure"
	case dsl.StepFinally:
		return "finally"
	}
	return "main"
}

// Graph returns the dependency graph of a workflow's steps, for `zrun
// graph`, and how to label it. Main, on_failure and finally steps are in
// one graph: each set's own edges, and, since a set runs after the ones
// before it, edges from the last steps of each earlier set to its first
// steps, labelled "on failure" or "finally". A pipe is an edge from its
// producer to its consumer labelled "pipe": they run together. A step is labelled with its
// set, its for_each collection, its action and its condition
// (on_failure: step.check[for_each: env.services] (http.check) when: ...).
func (r *Runner) Graph(ctx context.Context, workflow string) (*dag.Graph, dag.Labels, hcl.Diagnostics) {
	wf, diags := r.workflow(workflow)
	if diags.HasErrors() {
		return nil, dag.Labels{}, diags
	}
	wb, diags := r.bind(ctx, wf)
	all := dag.NewGraph()
	piped := map[[2]dag.Vertex]bool{} // consumer, producer
	var earlier [][]dag.Vertex        // the last steps of each set so far
	for _, kind := range []dsl.StepKind{dsl.StepMain, dsl.StepOnFailure, dsl.StepFinally} {
		g, moreDiags := buildGraph(wb, kind)
		diags = append(diags, moreDiags...)
		// A pipe is drawn as an edge of its own; what its consumer
		// inherited from its producer is then implied by it.
		for _, p := range samePipes(pipesOf(wb, wb.set(kind))) {
			if !reaches(g, p.producer, p.consumer) {
				g.Connect(p.consumer, p.producer)
				piped[[2]dag.Vertex{p.consumer, p.producer}] = true
			}
		}
		g.TransitiveReduction()
		var first, last []dag.Vertex
		for _, v := range g.Vertices() {
			all.Add(v)
			for _, d := range g.DependsOn(v) {
				all.Connect(v, d)
			}
			if len(g.DependsOn(v)) == 0 {
				first = append(first, v)
			}
			if len(g.Dependents(v)) == 0 {
				last = append(last, v)
			}
		}
		for _, before := range earlier {
			for _, v := range first {
				for _, d := range before {
					all.Connect(v, d)
				}
			}
		}
		if len(last) > 0 {
			earlier = append(earlier, last)
		}
	}
	edge := func(from, to dag.Vertex) string {
		if piped[[2]dag.Vertex{from, to}] {
			return "pipe"
		}
		return graphEdgeLabel(from, to)
	}
	return all, dag.Labels{Vertex: r.graphLabel, Edge: edge}, diags
}

// graphLabel labels a step in `zrun graph`.
func (r *Runner) graphLabel(v dag.Vertex) string {
	b := v.(*boundStep)
	label := b.Name()
	if b.ForEach != nil {
		label += "[for_each: " + r.exprText(b.ForEach) + "]"
	}
	if b.Kind != dsl.StepMain {
		label = kindName(b.Kind) + ": " + label
	}
	if a := b.actionName(); a != "" {
		label += " (" + a + ")"
	}
	if b.When != nil {
		label += " when: " + r.exprText(b.When)
	}
	return label
}

// graphEdgeLabel labels the edges between sets: a step that depends on one
// of another set runs after it as on_failure or finally.
func graphEdgeLabel(from, to dag.Vertex) string {
	switch k := from.(*boundStep).Kind; {
	case k == to.(*boundStep).Kind:
		return ""
	case k == dsl.StepOnFailure:
		return "on failure"
	default:
		return kindName(k)
	}
}

// maxExprText is how much of an expression a graph label shows.
const maxExprText = 60

// exprText is an expression as written in its file, on one line and cut
// to maxExprText characters.
func (r *Runner) exprText(expr hcl.Expression) string {
	rng := expr.Range()
	f := r.opts.Config.Files[rng.Filename]
	if f == nil {
		return "..."
	}
	text := []rune(strings.Join(strings.Fields(string(rng.SliceBytes(f.Bytes))), " "))
	if len(text) > maxExprText {
		return string(text[:maxExprText-1]) + "…"
	}
	return string(text)
}
