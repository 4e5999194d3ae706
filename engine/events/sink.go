package events

// Sink receives events. The engine calls Event from many goroutines at once,
// so implementations must be safe for concurrent use. Event must not block
// for long: a slow sink slows the run.
type Sink interface {
	Event(e Event)
}

// SinkFunc adapts a function to a Sink. The function must itself be safe for
// concurrent use.
type SinkFunc func(Event)

// Event calls f(e).
func (f SinkFunc) Event(e Event) { f(e) }

// Discard is a Sink that drops every event.
var Discard Sink = discard{}

type discard struct{}

func (discard) Event(Event) {}

// Multi returns a Sink that passes each event to every one of sinks, in order,
// on the caller's goroutine. Nil sinks are left out.
func Multi(sinks ...Sink) Sink {
	var m multi
	for _, s := range sinks {
		if s != nil {
			m = append(m, s)
		}
	}
	switch len(m) {
	case 0:
		return Discard
	case 1:
		return m[0]
	}
	return m
}

type multi []Sink

func (m multi) Event(e Event) {
	for _, s := range m {
		s.Event(e)
	}
}

// Interface guards
var (
	_ Sink = SinkFunc(nil)
	_ Sink = discard{}
	_ Sink = multi(nil)
)
