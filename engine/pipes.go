package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/addrs"
	"github.com/zrun-dev/zrun/engine/dag"
	"github.com/zrun-dev/zrun/sdk/pipe"
)

// A pipe connects a step's stream output (schema.Attribute.Stream) to
// another step's stream argument: `stdin = step.dump.stream`. The two run
// together: the consumer does not wait for its producer, only for what
// the producer waits for; the engine gives both the address of a unix
// socket, and the plugins move the bytes between them (sdk/pipe).

// pipeEdge is one pipe: the producer's output read by the whole
// expression of the consumer's argument.
type pipeEdge struct {
	producer, consumer *boundStep
	output, arg        string
	// ref is the consumer's reference, step.dump.stream.
	ref *addrs.Reference
}

// streamRef returns the step and the stream output a reference reads
// (step.dump.stream, or anything under it), if it reads one.
func streamRef(wb *workflowBinding, ref *addrs.Reference) (*boundStep, string, bool) {
	sr, ok := ref.Subject.(addrs.StepRef)
	if !ok {
		return nil, "", false
	}
	p := wb.steps[sr.Name]
	if p == nil || p.action == nil || p.ForEach != nil || len(ref.Remaining) == 0 {
		// Under for_each, step.x["k"] comes first: not a pipe (refused by
		// streamDiags from the producer's side).
		return nil, "", false
	}
	attr, ok := ref.Remaining[0].(hcl.TraverseAttr)
	if !ok {
		return nil, "", false
	}
	if out := p.action.Output(attr.Name); out != nil && out.Stream {
		return p, attr.Name, true
	}
	return nil, "", false
}

// pipesOf lists the pipes into the given steps: each stream argument
// whose whole expression is a reference to a stream output, whichever set
// the producer is in (streamDiags refuses those of another set).
func pipesOf(wb *workflowBinding, steps []*boundStep) []*pipeEdge {
	var pipes []*pipeEdge
	for _, c := range steps {
		if c == nil || c.action == nil || c.Body == nil {
			continue
		}
		for _, arg := range c.action.Args {
			if !arg.Stream {
				continue
			}
			expr := argExpr(c, arg.Name)
			if expr == nil {
				continue
			}
			tr, diags := hcl.AbsTraversalForExpr(expr)
			if diags.HasErrors() {
				continue
			}
			ref, diags := addrs.ParseRef(tr)
			if diags.HasErrors() || ref == nil || len(ref.Remaining) != 1 {
				continue
			}
			if p, out, ok := streamRef(wb, ref); ok {
				pipes = append(pipes, &pipeEdge{producer: p, consumer: c, output: out, arg: arg.Name, ref: ref})
			}
		}
	}
	return pipes
}

// argExpr returns the expression of a step's argument, or nil.
func argExpr(b *boundStep, name string) hcl.Expression {
	content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if content == nil {
		return nil
	}
	if a := content.Attributes[name]; a != nil {
		return a.Expr
	}
	return nil
}

// samePipes keeps the pipes whose producer and consumer are both in one
// set: the others are refused by streamDiags.
func samePipes(pipes []*pipeEdge) []*pipeEdge {
	var out []*pipeEdge
	for _, p := range pipes {
		if p.producer.Kind == p.consumer.Kind && p.producer != p.consumer {
			out = append(out, p)
		}
	}
	return out
}

// reaches reports whether from waits for to, directly or not.
func reaches(g *dag.Graph, from, to dag.Vertex) bool {
	seen := map[dag.Vertex]bool{}
	stack := []dag.Vertex{from}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range g.DependsOn(v) {
			if d == to {
				return true
			}
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	return false
}

// livePipe is a pipe of a walk: its socket's address, and its producer's
// outcome once known.
type livePipe struct {
	*pipeEdge
	addr string

	once sync.Once
	done chan struct{} // closed when err is set
	err  error         // nil: the producer succeeded
	// ended says why the consumer ended before the stream did (under
	// walkPipes.mu): a producer that starts after it is cancelled at once.
	ended error
}

// settle records how the producer ended; the first outcome stays.
func (p *livePipe) settle(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.done)
	})
}

func (p *livePipe) settled() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// walkPipes are the pipes of one walk (one set of one workflow call),
// their sockets in a private directory.
type walkPipes struct {
	dir        string
	byProducer map[*boundStep][]*livePipe
	byConsumer map[*boundStep][]*livePipe

	mu sync.Mutex
	// stop cancels each producer's step, with why, when its consumer
	// ends first.
	stop map[*boundStep]context.CancelCauseFunc
}

type pipesKey struct{}

// pipesFrom returns the pipes of the walk ctx belongs to, or nil.
func pipesFrom(ctx context.Context) *walkPipes {
	p, _ := ctx.Value(pipesKey{}).(*walkPipes)
	return p
}

// openPipes allocates a socket address per pipe of the set, in a 0700
// directory of its own, and gives each stream output its address as its
// value (data.setStreams) for consumers to read. It returns nil when the
// set has no pipe.
func openPipes(wb *workflowBinding, kind dsl.StepKind, data *runData) (*walkPipes, error) {
	edges := samePipes(pipesOf(wb, wb.set(kind)))
	if len(edges) == 0 {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "zrun-pipes-")
	if err != nil {
		return nil, fmt.Errorf("creating the directory of the run's pipes: %w", err)
	}
	w := &walkPipes{dir: dir, byProducer: map[*boundStep][]*livePipe{}, byConsumer: map[*boundStep][]*livePipe{},
		stop: map[*boundStep]context.CancelCauseFunc{}}
	for i, e := range edges {
		addr := filepath.Join(dir, strconv.Itoa(i))
		if len(addr) > pipe.MaxAddr {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("the temporary directory's path is too long for a pipe's socket (%s, at most %d bytes): set TMPDIR to a shorter one", addr, pipe.MaxAddr)
		}
		p := &livePipe{pipeEdge: e, addr: addr, done: make(chan struct{})}
		w.byProducer[e.producer] = append(w.byProducer[e.producer], p)
		w.byConsumer[e.consumer] = append(w.byConsumer[e.consumer], p)
		data.setStream(e.producer.Step.Name, e.output, cty.StringVal(addr))
	}
	return w, nil
}

// close settles what never ran and removes the sockets.
func (w *walkPipes) close() {
	if w == nil {
		return
	}
	for b, ps := range w.byProducer {
		for _, p := range ps {
			p.settle(fmt.Errorf("%s did not run", b.Name()))
		}
	}
	_ = os.RemoveAll(w.dir)
}

// started returns the ctx a step runs under: a producer's can be
// cancelled by its consumer's end. ended is called with the step's error
// once it has ended: it settles its streams if no attempt did (the step
// did not run, or a resumed run reused its outputs), and cancels the
// producers of its own inputs if they still run.
func (w *walkPipes) started(ctx context.Context, b *boundStep) (context.Context, func(error)) {
	if w == nil {
		return ctx, func(error) {}
	}
	ctx = context.WithValue(ctx, pipesKey{}, w)
	var cancel context.CancelCauseFunc
	if len(w.byProducer[b]) > 0 {
		ctx, cancel = context.WithCancelCause(ctx)
		w.mu.Lock()
		w.stop[b] = cancel
		for _, p := range w.byProducer[b] {
			if p.ended != nil {
				cancel(p.ended)
			}
		}
		w.mu.Unlock()
	}
	return ctx, func(err error) {
		why := "it did not run in this run (its condition was false, or a resumed run reused its outputs: a stream cannot be replayed)"
		if err != nil {
			why = "it did not run: " + err.Error()
		}
		for _, p := range w.byProducer[b] {
			p.settle(fmt.Errorf("%s produced no stream: %s", b.Name(), why))
		}
		for _, p := range w.byConsumer[b] {
			if p.settled() {
				continue // the producer ended first: nothing to cancel
			}
			why := fmt.Errorf("its stream's consumer %s ended before the stream did", b.Name())
			w.mu.Lock()
			p.ended = why
			stop := w.stop[p.producer]
			w.mu.Unlock()
			if stop != nil {
				stop(why)
			}
		}
		if cancel != nil {
			cancel(nil)
		}
	}
}

// consumes reports whether b reads a stream: it runs without a
// parallelism slot of its own, since its producer holds one for both (a
// pipeline counts as one step), and waiting for a slot while its producer
// holds one could wait forever.
func (w *walkPipes) consumes(b *boundStep) bool {
	return w != nil && len(w.byConsumer[b]) > 0
}

// ends are the pipes of b's attempt, for its UI.
func (w *walkPipes) ends(b *boundStep) *pipe.Ends {
	if w == nil || len(w.byProducer[b])+len(w.byConsumer[b]) == 0 {
		return nil
	}
	e := &pipe.Ends{Inputs: map[string]string{}, Outputs: map[string]string{}}
	inputs := map[string]*livePipe{}
	for _, p := range w.byConsumer[b] {
		e.Inputs[p.arg] = p.addr
		inputs[p.arg] = p
	}
	for _, p := range w.byProducer[b] {
		e.Outputs[p.output] = p.addr
	}
	e.Result = func(ctx context.Context, arg string) error {
		p := inputs[arg]
		if p == nil {
			return fmt.Errorf("argument %q carries no stream", arg)
		}
		select {
		case <-p.done:
			return p.err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return e
}

// attemptEnded settles b's streams with its attempt's outcome (masked),
// so their consumers learn it at once.
func (w *walkPipes) attemptEnded(b *boundStep, err error, mask *masker) {
	if w == nil || len(w.byProducer[b]) == 0 {
		return
	}
	ps := w.byProducer[b]
	var outcome error
	if err != nil {
		// The consumer's error quotes it after its own "Action failed":
		// once is enough.
		msg := strings.TrimPrefix(mask.Mask(err.Error()), "Action failed: ")
		outcome = fmt.Errorf("%s failed: %s", b.Name(), msg)
	}
	for _, p := range ps {
		p.settle(outcome)
	}
}
