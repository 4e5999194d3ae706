package events

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Marshal encodes e as one JSON object with no line ending: a "type" field
// (run_started, step_started, step_log, step_progress, step_finished,
// run_finished) followed by the event's fields in snake_case. Times are
// RFC 3339 with nanoseconds, durations are whole nanoseconds
// ("duration_ns"), empty optional fields are left out. It fails for an
// event of no known type and for outputs that are not JSON-able.
func Marshal(e Event) ([]byte, error) {
	typ := typeName(e)
	if typ == "" {
		return nil, fmt.Errorf("events: cannot encode %T", e)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("events: cannot encode %s: %w", typ, err)
	}
	if len(body) < 2 || body[0] != '{' { // a nil pointer
		return nil, fmt.Errorf("events: cannot encode %s: %s", typ, body)
	}
	// Every event has a time field, so body is never "{}": the type field
	// goes first, followed by a comma and the rest of the object.
	out := make([]byte, 0, len(body)+len(typ)+10)
	out = append(out, `{"type":"`...)
	out = append(out, typ...)
	out = append(out, `",`...)
	return append(out, body[1:]...), nil
}

func typeName(e Event) string {
	switch e.(type) {
	case RunStarted, *RunStarted:
		return "run_started"
	case StepStarted, *StepStarted:
		return "step_started"
	case StepLog, *StepLog:
		return "step_log"
	case StepProgress, *StepProgress:
		return "step_progress"
	case StepFinished, *StepFinished:
		return "step_finished"
	case RunFinished, *RunFinished:
		return "run_finished"
	}
	return ""
}

// JSONLinesSink writes each event as one line of JSON (see Marshal). It is
// safe for concurrent use: lines are written whole, one at a time, in the
// order the events arrive.
type JSONLinesSink struct {
	mu     sync.Mutex
	w      io.Writer
	err    error // the first error, kept for Err
	broken bool  // a write has failed: write nothing more
}

// JSONLines returns a sink writing one JSON object per line to w.
func JSONLines(w io.Writer) *JSONLinesSink {
	return &JSONLinesSink{w: w}
}

// Event writes e as a line. An event that cannot be encoded is left out; a
// failed write stops all later ones. Err reports either.
func (s *JSONLinesSink) Event(e Event) {
	line, err := Marshal(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return
	}
	if err == nil {
		if _, werr := s.w.Write(append(line, '\n')); werr != nil {
			s.broken = true
			err = fmt.Errorf("events: writing JSON lines: %w", werr)
		}
	}
	if s.err == nil {
		s.err = err
	}
}

// Err returns the first error encoding or writing an event, or nil.
func (s *JSONLinesSink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Interface guards
var _ Sink = (*JSONLinesSink)(nil)
