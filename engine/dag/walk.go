package dag

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// WalkFunc does the work of one vertex. It runs on its own goroutine, at the
// same time as the WalkFuncs of every other vertex that is ready; it must
// honour ctx. A non-nil error fails v, and Walk skips what depends on it.
type WalkFunc func(ctx context.Context, v Vertex) error

// WalkResult is what happened to each vertex of a walk. A vertex is in at most
// one of Errors and Skipped; a vertex in neither succeeded.
type WalkResult struct {
	// Errors holds the error fn returned for each vertex that failed. A panic
	// in fn becomes an error naming the panic value, with a stack trace.
	Errors map[Vertex]error
	// Skipped holds each vertex fn was never called for, mapped to the failed
	// or skipped dependency that caused it (the first one observed), or to
	// nil when the walk was aborted before the vertex could start.
	Skipped map[Vertex]Vertex
	// Aborted is why vertices were skipped with a nil cause: the context's
	// cancellation cause, or the *CycleError of a cyclic graph. It is nil
	// when no vertex was skipped that way.
	Aborted error

	order []Vertex
}

// Err returns nil if every vertex succeeded, or else Aborted joined with the
// error of each failed vertex (prefixed with its name) in graph order.
func (r *WalkResult) Err() error {
	errs := []error{r.Aborted}
	for _, v := range r.order {
		if err, ok := r.Errors[v]; ok {
			errs = append(errs, fmt.Errorf("%s: %w", VertexName(v), err))
		}
	}
	return errors.Join(errs...)
}

// Walk calls fn for every vertex, each on its own goroutine as soon as all the
// vertices it depends on have succeeded, and returns when every call has
// returned. Dependents of a vertex that failed or was skipped are never
// called; they are reported in Skipped with that vertex as the cause.
//
// Walk never limits how many calls run at once: a caller that wants a cap
// acquires a semaphore inside fn. Once ctx is cancelled Walk starts nothing
// more; calls already running get the same ctx, and every vertex not started
// is reported skipped with a nil cause. A cyclic graph calls fn for nothing
// and reports every vertex skipped, with the *CycleError in Aborted.
//
// The graph must not be modified during the walk.
func (g *Graph) Walk(ctx context.Context, fn WalkFunc) *WalkResult {
	w := &walker{
		g:       g,
		ctx:     ctx,
		fn:      fn,
		pending: make([]int, len(g.vertices)),
		state:   make([]vertexState, len(g.vertices)),
		done:    make(chan finished, len(g.vertices)),
		result: &WalkResult{
			Errors:  make(map[Vertex]error),
			Skipped: make(map[Vertex]Vertex),
			order:   g.Vertices(),
		},
	}
	if err := g.Validate(); err != nil {
		w.abort(err)
		return w.result
	}
	w.run()
	return w.result
}

type vertexState uint8

const (
	waiting vertexState = iota
	running
	finishedState
)

type finished struct {
	vertex int
	err    error
}

// walker is the state of one walk. Only the goroutine running Walk touches
// it; the goroutines calling fn report back through done, which has room for
// every vertex so none of them ever blocks.
type walker struct {
	g       *Graph
	ctx     context.Context
	fn      WalkFunc
	pending []int // dependencies not finished yet, per vertex
	state   []vertexState
	done    chan finished
	running int
	aborted bool
	result  *WalkResult
}

func (w *walker) run() {
	for i, deps := range w.g.deps {
		w.pending[i] = len(deps)
	}
	for i := range w.g.vertices {
		if w.pending[i] == 0 {
			w.start(i)
		}
	}
	cancelled := w.ctx.Done()
	for w.running > 0 {
		select {
		case f := <-w.done:
			w.running--
			w.finish(f)
		case <-cancelled:
			cancelled = nil
			w.abort(context.Cause(w.ctx))
		}
	}
}

func (w *walker) start(i int) {
	if w.state[i] != waiting {
		return
	}
	if w.ctx.Err() != nil {
		w.abort(context.Cause(w.ctx))
		return
	}
	w.state[i] = running
	w.running++
	go w.call(i, w.g.vertices[i])
}

func (w *walker) call(i int, v Vertex) {
	w.done <- finished{vertex: i, err: w.safeCall(v)}
}

func (w *walker) safeCall(v Vertex) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return w.fn(w.ctx, v)
}

func (w *walker) finish(f finished) {
	w.state[f.vertex] = finishedState
	if f.err != nil {
		w.result.Errors[w.g.vertices[f.vertex]] = f.err
		w.skipDependents(f.vertex)
		return
	}
	for _, d := range w.g.dependents[f.vertex] {
		w.pending[d]--
		if w.pending[d] == 0 {
			w.start(d)
		}
	}
}

// skipDependents skips every waiting vertex that depends on i, directly or
// not, each naming the dependency it was reached through.
func (w *walker) skipDependents(i int) {
	stack := []int{i}
	for len(stack) > 0 {
		cause := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range w.g.dependents[cause] {
			if w.state[d] == waiting {
				w.state[d] = finishedState
				w.result.Skipped[w.g.vertices[d]] = w.g.vertices[cause]
				stack = append(stack, d)
			}
		}
	}
}

// abort skips every vertex still waiting, with a nil cause.
func (w *walker) abort(reason error) {
	if w.aborted {
		return
	}
	w.aborted = true
	for i, s := range w.state {
		if s == waiting {
			w.state[i] = finishedState
			w.result.Skipped[w.g.vertices[i]] = nil
			w.result.Aborted = reason
		}
	}
}
