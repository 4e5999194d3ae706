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

// ledger records one run in a state.Store as it happens. Steps never wait
// on the disk: their records go to one writer goroutine, which takes all
// that queued up, keeps only the latest record of each step attempt, and
// writes them in one transaction (one disk sync for many records). Every
// record is masked before it gets here.
type ledger struct {
	store state.Store
	runID string

	mu    sync.Mutex
	steps map[stepKey]*state.Step // latest record of each attempt, not yet written
	order []stepKey               // the order they were first queued in
	logs  []state.LogLine
	// started is when each attempt now running started: each attempt
	// is recorded with its own start, whatever the step's result says.
	started map[stepKey]time.Time
	wake    chan struct{}
	closing bool
	done    chan struct{}
	err     error // the first write error
}

type stepKey struct {
	addr    string
	attempt int
}

// A record waits at most logFlushEvery, or until batchSize records are
// pending, before it is written: few disk syncs for many records, and a
// kill -9 loses at most that much of the history (never its consistency).
const (
	logFlushEvery = 200 * time.Millisecond
	batchSize     = 256
)

// newLedger records the run r, returning once its record is written, so a
// run is in the ledger before its first step starts.
func newLedger(ctx context.Context, store state.Store, r *state.Run) (*ledger, error) {
	if err := store.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	l := &ledger{store: store, runID: r.ID, steps: map[stepKey]*state.Step{}, started: map[stepKey]time.Time{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.loop()
	return l, nil
}

func (l *ledger) loop() {
	defer close(l.done)
	ctx := context.Background() // writes must land even after the run is cancelled
	tick := time.NewTicker(logFlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.wake:
		case <-tick.C:
		}
		l.mu.Lock()
		steps, order, logs, closing := l.steps, l.order, l.logs, l.closing
		l.steps, l.order, l.logs = map[stepKey]*state.Step{}, nil, nil
		l.mu.Unlock()
		l.write(ctx, steps, order, logs)
		if closing {
			return
		}
	}
}

// write stores one batch: the step records in one transaction, the log
// lines (in order) in another, concurrently.
func (l *ledger) write(ctx context.Context, steps map[stepKey]*state.Step, order []stepKey, logs []state.LogLine) {
	var wg sync.WaitGroup
	if len(order) > 0 {
		batch := make([]*state.Step, len(order))
		for i, k := range order {
			batch[i] = steps[k]
		}
		wg.Go(func() { l.fail(l.store.PutSteps(ctx, batch)) })
	}
	if len(logs) > 0 {
		wg.Go(func() { l.fail(l.store.AppendLogs(ctx, logs)) })
	}
	wg.Wait()
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

// queue replaces the pending record of a step attempt and wakes the writer.
func (l *ledger) queue(s *state.Step) {
	k := stepKey{s.Addr, s.Attempt}
	l.mu.Lock()
	if _, ok := l.steps[k]; !ok {
		l.order = append(l.order, k)
	}
	l.steps[k] = s
	full := len(l.order) >= batchSize
	l.mu.Unlock()
	if full {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

func (l *ledger) stepStarted(addr, action string, attempt int, at time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.started[stepKey{addr, attempt}] = at
	l.mu.Unlock()
	l.queue(&state.Step{RunID: l.runID, Addr: addr, Action: action, Attempt: attempt, Status: state.StatusRunning, StartedAt: at})
}

// attemptFailed records the end of an attempt that is retried.
func (l *ledger) attemptFailed(addr, action string, attempt int, errMsg string) {
	if l == nil {
		return
	}
	now := time.Now()
	l.queue(&state.Step{RunID: l.runID, Addr: addr, Action: action, Attempt: attempt, Status: state.StatusFailed,
		Error: errMsg, StartedAt: l.startOf(stepKey{addr, attempt}, now), EndedAt: now})
}

// stepFinished records a step's result as the end of its last attempt
// (started when that attempt did, else at started: a step that never ran).
func (l *ledger) stepFinished(sr *StepResult, started time.Time) {
	if l == nil {
		return
	}
	now := time.Now()
	attempt := max(sr.Attempts, 1)
	l.queue(&state.Step{RunID: l.runID, Addr: sr.Addr, Action: sr.Action, Attempt: attempt, Status: sr.Status,
		Error: sr.Error, StartedAt: l.startOf(stepKey{sr.Addr, attempt}, started), EndedAt: now, Outputs: storableOutputs(sr.Outputs)})
}

// startOf is when an attempt started (or def if it never did), forgotten
// as the attempt ends.
func (l *ledger) startOf(k stepKey, def time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.started[k]
	if !ok {
		return def
	}
	delete(l.started, k)
	return at
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

// finish writes what is pending and the run's end, and returns the first
// write error.
func (l *ledger) finish(res *RunResult) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
	outputs, _ := json.Marshal(displayMap(res.Outputs))
	l.fail(l.store.FinishRun(context.Background(), l.runID, res.Status, res.Error, outputs, time.Now()))
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
