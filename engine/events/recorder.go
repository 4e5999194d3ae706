package events

import "sync"

// Recorder is a Sink that keeps every event it receives, for tests. Its zero
// value is ready to use; it is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Event records e.
func (r *Recorder) Event(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns a copy of the events recorded so far, in the order received.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Filter returns the events of type T, in order:
// Filter[events.StepFinished](rec.Events()).
func Filter[T Event](events []Event) []T {
	var out []T
	for _, e := range events {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// Interface guards
var _ Sink = (*Recorder)(nil)
