package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// engineMessage is one message of the JSON stream the engine answers a
// build, a load, a push or a pull with (the format of
// github.com/docker/docker's pkg/jsonmessage, of which only these fields
// matter here).
type engineMessage struct {
	Stream   string          `json:"stream"`
	Status   string          `json:"status"`
	ID       string          `json:"id"`
	Progress string          `json:"progress"`
	Aux      json.RawMessage `json:"aux"`
	Detail   *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string `json:"error"`
	// ProgressDetail is the byte counts of a push's or a pull's progress
	// bar of the layer ID.
	ProgressDetail struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
}

// engineError is an error the engine reported in its message stream (a
// failed RUN, a corrupt archive), as opposed to one reaching it.
type engineError struct{ Message string }

func (e *engineError) Error() string { return e.Message }

// readEngineMessages decodes the engine's message stream to its end: the
// text of each message goes to out (the step's stdout, which splits it
// into lines), the aux payloads to aux, and the first error message
// stops it as an *engineError. Progress bars (a pull's) are left out: they
// redraw one line.
func readEngineMessages(r io.Reader, out io.Writer, aux func(json.RawMessage) error) error {
	return eachEngineMessage(r, out, func(m *engineMessage) error {
		if len(m.Aux) > 0 && aux != nil {
			return aux(m.Aux)
		}
		return nil
	})
}

// eachEngineMessage is readEngineMessages with every message (but an
// error) given to fn, before its text goes to out.
func eachEngineMessage(r io.Reader, out io.Writer, fn func(*engineMessage) error) error {
	dec := json.NewDecoder(r)
	for {
		var m engineMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if msg := m.errorMessage(); msg != "" {
			return &engineError{Message: msg}
		}
		if err := fn(&m); err != nil {
			return err
		}
		if text := m.text(); text != "" && out != nil {
			if _, err := io.WriteString(out, text); err != nil {
				return err
			}
		}
	}
}

func (m *engineMessage) errorMessage() string {
	if m.Detail != nil && m.Detail.Message != "" {
		return strings.TrimSpace(m.Detail.Message)
	}
	return strings.TrimSpace(m.Error)
}

func (m *engineMessage) text() string {
	switch {
	case m.Stream != "":
		return m.Stream
	case m.Status != "" && m.Progress == "":
		if m.ID != "" {
			return m.ID + ": " + m.Status + "\n"
		}
		return m.Status + "\n"
	}
	return ""
}
