package engine

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/dsl/lang"
)

// streamDiags checks, before anything runs, how the steps of one set use
// stream outputs: a stream is read only whole, by one argument that takes
// a stream, of one step, in the producer's own set, neither end under
// for_each or retry. Workflow outputs are checked with the main set.
func streamDiags(wb *workflowBinding, kind dsl.StepKind, steps []*boundStep) hcl.Diagnostics {
	var diags hcl.Diagnostics
	pipes := pipesOf(wb, steps)
	isPipe := pipeRefs(pipes)
	for _, s := range steps {
		if s == nil {
			continue
		}
		refs, _ := stepReferences(s)
		for _, ref := range refs {
			if !isPipe[ref.SourceRange] {
				diags = append(diags, misusedStream(wb, s, ref)...)
			}
		}
	}
	first := map[string]*pipeEdge{} // by producer's stream, step.dump.stream
	for _, p := range pipes {
		diags = append(diags, pipeEndDiags(p)...)
		key := p.producer.Name() + "." + p.output
		if f := first[key]; f != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Stream with more than one consumer",
				Detail: fmt.Sprintf("%s is read by step %q (%s) and by step %q. A stream has exactly one consumer: its bytes go once, as they are written. Produce it in two steps, or have one consumer save it to a file the other reads.",
					key, f.consumer.Step.Name, refRange(f.ref), p.consumer.Step.Name),
				Subject: refRange(p.ref).Ptr(),
			})
			continue
		}
		first[key] = p
	}
	if kind == dsl.StepMain {
		diags = append(diags, outputStreamDiags(wb)...)
	}
	return diags
}

// misusedStream reports a reference to a stream output that is not a
// pipe: one inside a larger expression, in an argument that takes no
// stream, or in when, for_each or target.
func misusedStream(wb *workflowBinding, s *boundStep, ref *addrs.Reference) hcl.Diagnostics {
	p, out, ok := streamTarget(wb, ref)
	if !ok {
		return nil
	}
	addr := p.Name() + "." + out
	if p.ForEach != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Stream of a for_each step",
			Detail: fmt.Sprintf("Step %q reads %s of one instance of %s, which has for_each. A stream's producer cannot be a for_each step yet: remove for_each from %s, or call a workflow per element with the pipe inside it.",
				s.Step.Name, out, p.Name(), p.Name()),
			Subject: refRange(ref).Ptr(),
		}}
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid use of a stream",
		Detail: fmt.Sprintf("%s is a byte stream, not a value: it can only be the whole value of an argument that takes a stream (like exec.run's stdin: stdin = %s), whose step reads it while %s runs. Here it is used %s. To use the output as text, read stdout instead, or save the stream to a file in one step and read the file in the next.",
			addr, addr, p.Name(), where(s, ref)),
		Subject: refRange(ref).Ptr(),
	}}
}

// streamTarget is streamRef that also sees through a for_each step's
// instance key (step.dump["a"].stream), which no pipe accepts.
func streamTarget(wb *workflowBinding, ref *addrs.Reference) (*boundStep, string, bool) {
	if p, out, ok := streamRef(wb, ref); ok {
		return p, out, true
	}
	sr, ok := ref.Subject.(addrs.StepRef)
	if !ok {
		return nil, "", false
	}
	p := wb.steps[sr.Name]
	if p == nil || p.action == nil || p.ForEach == nil || len(ref.Remaining) < 2 {
		return nil, "", false
	}
	if _, ok := ref.Remaining[0].(hcl.TraverseIndex); !ok {
		return nil, "", false
	}
	if attr, ok := ref.Remaining[1].(hcl.TraverseAttr); ok {
		if o := p.action.Output(attr.Name); o != nil && o.Stream {
			return p, attr.Name, true
		}
	}
	return nil, "", false
}

// where says where in step s a reference is, for misusedStream.
func where(s *boundStep, ref *addrs.Reference) string {
	for _, m := range []struct {
		name string
		expr hcl.Expression
	}{{"when", s.When}, {"for_each", s.ForEach}, {"target", s.Target}} {
		if m.expr != nil && contains(m.expr.Range(), ref.SourceRange) {
			return "in " + m.name
		}
	}
	if s.action != nil {
		for _, a := range s.action.Args {
			expr := argExpr(s, a.Name)
			if expr == nil || !contains(expr.Range(), ref.SourceRange) {
				continue
			}
			if a.Stream {
				return fmt.Sprintf("inside the expression of argument %q, which takes the stream only whole", a.Name)
			}
			return fmt.Sprintf("in argument %q, which takes a value, not a stream", a.Name)
		}
	}
	if s.call != nil {
		return "as a param of workflow " + s.call.Name + ", which takes values"
	}
	return "as a value"
}

// refRange is a reference's whole range, step.dump.stream, where
// SourceRange is its subject's.
func refRange(ref *addrs.Reference) hcl.Range {
	if len(ref.Remaining) == 0 {
		return ref.SourceRange
	}
	return hcl.RangeBetween(ref.SourceRange, ref.Remaining[len(ref.Remaining)-1].SourceRange())
}

func contains(outer, inner hcl.Range) bool {
	return outer.Filename == inner.Filename && outer.Start.Byte <= inner.Start.Byte && inner.End.Byte <= outer.End.Byte
}

// pipeEndDiags refuses what a pipe's two steps cannot do.
func pipeEndDiags(p *pipeEdge) hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: refRange(p.ref).Ptr()})
	}
	switch {
	case p.producer == p.consumer:
		add("Step reads its own stream", fmt.Sprintf("Step %q reads %s, its own output. A stream goes from one step to another.", p.consumer.Step.Name, p.ref.String()))
		return diags
	case p.producer.Kind != p.consumer.Kind:
		add("Stream from another block", fmt.Sprintf("Step %q (%s) reads %s of a %s step. A stream flows only while both steps run, so both must be in the same block.",
			p.consumer.Step.Name, kindName(p.consumer.Kind), p.ref.String(), kindName(p.producer.Kind)))
	}
	if p.consumer.ForEach != nil {
		add("Stream into a for_each step", fmt.Sprintf("Step %q reads %s under for_each, which would make one consumer per element; a stream has exactly one. Remove for_each, or give each element a producer of its own in a called workflow.",
			p.consumer.Step.Name, p.ref.String()))
	}
	for _, b := range []*boundStep{p.producer, p.consumer} {
		if b.Retry != nil {
			add("Retry on a piped step", fmt.Sprintf("Step %q has retry, but it is one end of the stream %s: a stream cannot be replayed, so a second attempt would start in its middle. Remove retry from step %q, or retry the whole workflow.",
				b.Step.Name, p.ref.String(), b.Step.Name))
		}
	}
	return diags
}

// outputStreamDiags refuses workflow outputs that read a stream: a
// stream has no value to keep.
func outputStreamDiags(wb *workflowBinding) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range wb.wf.OutputOrder {
		o := wb.wf.Outputs[name]
		refs, _ := lang.ReferencesInExpr(o.Value)
		for _, ref := range refs {
			if p, out, ok := streamTarget(wb, ref); ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid use of a stream",
					Detail: fmt.Sprintf("Output %q reads %s.%s, a byte stream, which has no value to keep. Read the step's other outputs (like stdout), or save the stream to a file in a step.",
						name, p.Name(), out),
					Subject: refRange(ref).Ptr(),
				})
			}
		}
	}
	return diags
}

// fannedPipeDiags refuses a pipe whose producer or consumer targets a
// group in env: a group makes one instance per host, and a
// stream has exactly one producer and one consumer.
func fannedPipeDiags(scope *lang.Scope, wb *workflowBinding, env *dsl.Environment) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range samePipes(pipesOf(wb, slices.Concat(wb.set(dsl.StepMain), wb.set(dsl.StepOnFailure), wb.set(dsl.StepFinally)))) {
		for _, b := range []*boundStep{p.producer, p.consumer} {
			t, moreDiags := evalTarget(scope, b, env)
			if moreDiags.HasErrors() || t.group == "" {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Stream to or from a group target",
				Detail: fmt.Sprintf("Step %q targets group %q in environment %q, which makes one instance per host, but it is one end of the stream %s, which has exactly one producer and one consumer. Target one host, or give each host its own pipeline in a called workflow.",
					b.Step.Name, t.group, env.Name, p.ref.String()),
				Subject: b.Target.Range().Ptr()})
		}
	}
	return diags
}
