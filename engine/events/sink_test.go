package events

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMulti(t *testing.T) {
	var order []string
	named := func(name string) Sink {
		return SinkFunc(func(e Event) { order = append(order, fmt.Sprintf("%s:%s", name, e.(StepLog).Line)) })
	}
	tests := map[string]struct {
		sinks []Sink
		want  []string
	}{
		"none":          {want: nil},
		"only nils":     {sinks: []Sink{nil, nil}, want: nil},
		"one":           {sinks: []Sink{named("a")}, want: []string{"a:1", "a:2"}},
		"fan-out":       {sinks: []Sink{named("a"), nil, Discard, named("b")}, want: []string{"a:1", "b:1", "a:2", "b:2"}},
		"nested multis": {sinks: []Sink{Multi(named("a"), named("b")), named("c")}, want: []string{"a:1", "b:1", "c:1", "a:2", "b:2", "c:2"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order = nil
			m := Multi(tc.sinks...)
			m.Event(StepLog{Line: "1"})
			m.Event(StepLog{Line: "2"})
			if diff := cmp.Diff(tc.want, order); diff != "" {
				t.Errorf("events seen (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecorderConcurrentFanOut(t *testing.T) {
	const goroutines, each = 8, 100
	var a, b Recorder
	s := Multi(&a, Discard, &b)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				s.Event(StepProgress{Step: fmt.Sprint(g), Done: int64(i)})
			}
		})
	}
	wg.Wait()
	for name, r := range map[string]*Recorder{"a": &a, "b": &b} {
		got := r.Events()
		if len(got) != goroutines*each {
			t.Fatalf("recorder %s: %d events, want %d", name, len(got), goroutines*each)
		}
		next := make(map[string]int64)
		for _, e := range got {
			p := e.(StepProgress)
			if p.Done != next[p.Step] {
				t.Fatalf("recorder %s: events of one goroutine out of order", name)
			}
			next[p.Step]++
		}
	}
}

func TestFilter(t *testing.T) {
	var r Recorder
	for _, e := range []Event{
		StepStarted{Step: "step.a"},
		StepLog{Step: "step.a", Line: "x"},
		StepFinished{Step: "step.a", Status: StatusOK},
		StepFinished{Step: "step.b", Status: StatusSkipped},
	} {
		r.Event(e)
	}
	want := []StepFinished{{Step: "step.a", Status: StatusOK}, {Step: "step.b", Status: StatusSkipped}}
	if diff := cmp.Diff(want, Filter[StepFinished](r.Events())); diff != "" {
		t.Errorf("Filter (-want +got):\n%s", diff)
	}
	if got := Filter[RunFinished](r.Events()); got != nil {
		t.Errorf("Filter[RunFinished] = %v, want nil", got)
	}
	// Events returns a copy.
	r.Events()[0] = nil
	if r.Events()[0] == nil {
		t.Error("modifying the result of Events changed the recorder")
	}
}
