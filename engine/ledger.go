package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/state"
)

// ledger records one run in a state.Store as it happens. Writes go through
// one goroutine in order, so steps never wait on the disk; log lines are
// written in batches. Every record is masked before it gets here.
type ledger struct {
	store state.Store
	runID string
	ops   chan func(context.Context) error
	done  chan struct{}

	mu   sync.Mutex
	logs []state.LogLine
	err  error // the first write error
}

// logFlushEvery bounds how long a log line waits before it is written.
const logFlushEvery = 200 * time.Millisecond

func newLedger(store state.Store, runID string) *ledger {
	l := &ledger{store: store, runID: runID, ops: make(chan func(context.Context) error, 4096), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *ledger) loop() {
	defer close(l.done)
	ctx := context.Background() // writes must land even after the run is cancelled
	tick := time.NewTicker(logFlushEvery)
	defer tick.Stop()
	for {
		select {
		case op, ok := <-l.ops:
			if !ok {
				l.fail(l.flushLogs(ctx))
				return
			}
			l.fail(op(ctx))
		case <-tick.C:
			l.fail(l.flushLogs(ctx))
		}
	}
}

func (l *ledger) fail(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

func (l *ledger) flushLogs(ctx context.Context) error {
	l.mu.Lock()
	lines := l.logs
	l.logs = nil
	l.mu.Unlock()
	if len(lines) == 0 {
		return nil
	}
	return l.store.AppendLogs(ctx, lines)
}

// do queues a write; nil-safe so a run without a ledger pays nothing.
func (l *ledger) do(op func(context.Context) error) {
	if l != nil {
		l.ops <- op
	}
}

func (l *ledger) runStarted(r *state.Run) {
	if l == nil {
		return
	}
	l.do(func(ctx context.Context) error { return l.store.CreateRun(ctx, r) })
}

func (l *ledger) stepStarted(addr, action string, attempt int, at time.Time) {
	if l == nil {
		return
	}
	s := &state.Step{RunID: l.runID, Addr: addr, Action: action, Attempt: attempt, Status: state.StatusRunning, StartedAt: at}
	l.do(func(ctx context.Context) error { return l.store.PutStep(ctx, s) })
}

func (l *ledger) stepFinished(sr *StepResult, started time.Time) {
	if l == nil {
		return
	}
	attempt := max(sr.Attempts, 1)
	s := &state.Step{RunID: l.runID, Addr: sr.Addr, Action: sr.Action, Attempt: attempt, Status: state.Status(sr.Status),
		Error: sr.Error, StartedAt: started, EndedAt: started.Add(sr.Duration), Outputs: storableOutputs(sr.Outputs)}
	l.do(func(ctx context.Context) error { return l.store.PutStep(ctx, s) })
}

// Event takes the run's log lines (the ledger is also an events.Sink).
func (l *ledger) Event(e events.Event) {
	if l == nil {
		return
	}
	if e, ok := e.(events.StepLog); ok {
		l.mu.Lock()
		l.logs = append(l.logs, state.LogLine{RunID: l.runID, Step: e.Step, Time: e.Time, Stream: e.Stream, Line: e.Line})
		l.mu.Unlock()
	}
}

// finish records the run's end, waits for every write, and returns the
// first write error.
func (l *ledger) finish(res *RunResult) error {
	if l == nil {
		return nil
	}
	outputs, _ := json.Marshal(displayMap(res.Outputs))
	ended := time.Now()
	l.do(func(ctx context.Context) error { return l.flushLogs(ctx) })
	l.do(func(ctx context.Context) error {
		return l.store.FinishRun(ctx, l.runID, state.Status(res.Status), res.Error, outputs, ended)
	})
	close(l.ops)
	<-l.done
	return l.err
}

// storableOutputs is a step's outputs as cty JSON with their type, for
// resume; nil when any part is sensitive, since secrets are never stored.
func storableOutputs(v cty.Value) []byte {
	if v == cty.NilVal || !v.IsWhollyKnown() {
		return nil
	}
	if _, marks := v.UnmarkDeep(); len(marks) > 0 {
		return nil
	}
	b, err := ctyjson.Marshal(v, cty.DynamicPseudoType)
	if err != nil {
		return nil
	}
	return b
}

// loadOutputs reverses storableOutputs.
func loadOutputs(b []byte) (cty.Value, error) {
	if len(b) == 0 {
		return cty.NilVal, errors.New("no recorded outputs")
	}
	return ctyjson.Unmarshal(b, cty.DynamicPseudoType)
}

// whoami returns the operator and machine a run is recorded under.
func whoami() (string, string) {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name, host
}
