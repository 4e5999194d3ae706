package statetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/state"
)

// WriteRun records a run the way the engine does: the run, then for each
// of steps steps a start record, two log lines and an end record, by
// parallel workers at once, then the run's end. With a nil store it builds
// the same records and writes nothing, the baseline a benchmark compares
// with.
func WriteRun(ctx context.Context, s state.Store, id string, steps, parallel int) error {
	now := time.Now()
	run := &state.Run{ID: id, Workflow: "bench", Env: "test", User: "bench", Host: "localhost", StartedAt: now}
	if s != nil {
		if err := s.CreateRun(ctx, run); err != nil {
			return err
		}
	}
	work := make(chan int)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Go(func() {
			for i := range work {
				if err := writeStep(ctx, s, id, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	func() {
		defer close(work)
		for i := range steps {
			select {
			case work <- i:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if s == nil {
		return nil
	}
	return s.FinishRun(ctx, id, state.StatusOK, "", []byte(`{}`), time.Now())
}

func writeStep(ctx context.Context, s state.Store, runID string, i int) error {
	addr := fmt.Sprintf("step.s%d", i)
	step := &state.Step{RunID: runID, Addr: addr, Action: "shell.exec", Attempt: 1, Status: state.StatusRunning, StartedAt: time.Now()}
	lines := []state.LogLine{
		{RunID: runID, Step: addr, Time: time.Now(), Stream: "stdout", Line: "starting " + addr},
		{RunID: runID, Step: addr, Time: time.Now(), Stream: "stdout", Line: "done " + addr},
	}
	if s == nil {
		return nil
	}
	if err := s.PutSteps(ctx, []*state.Step{step}); err != nil {
		return err
	}
	if err := s.AppendLogs(ctx, lines); err != nil {
		return err
	}
	step.Status, step.EndedAt, step.Outputs = state.StatusOK, time.Now(), []byte(`{"value":{},"type":"dynamic"}`)
	return s.PutSteps(ctx, []*state.Step{step})
}

// Benchmark writes a 1,000-step run per iteration with WriteRun, side by
// side: "1000Steps" into a store from open, steps one at a time;
// "1000StepsParallel8" the same eight at a time; "None" the same loop
// with no store.
func Benchmark(b *testing.B, open func(b *testing.B) state.Store) {
	b.Helper()
	cases := []struct {
		name     string
		store    bool
		parallel int
	}{
		{"1000Steps", true, 1},
		{"1000StepsParallel8", true, 8},
		{"None", false, 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var s state.Store
			if c.store {
				s = open(b)
				defer s.Close()
			}
			for i := 0; b.Loop(); i++ {
				if err := WriteRun(b.Context(), s, fmt.Sprintf("run%d", i), 1000, c.parallel); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
