package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var when = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)

func TestMarshal(t *testing.T) {
	plus2 := time.FixedZone("", 2*60*60)
	tests := map[string]struct {
		e    Event
		want string
	}{
		"run started": {
			e: RunStarted{Time: when, RunID: "r1", Workflow: "deploy", Env: "prod",
				Params: map[string]string{"version": "1.2", "token": "(sensitive)"}},
			want: `{"type":"run_started","time":"2025-03-04T05:06:07.890123456Z","run_id":"r1","workflow":"deploy","env":"prod","params":{"token":"(sensitive)","version":"1.2"}}`,
		},
		"run started without params": {
			e:    RunStarted{Time: when, RunID: "r1", Workflow: "deploy"},
			want: `{"type":"run_started","time":"2025-03-04T05:06:07.890123456Z","run_id":"r1","workflow":"deploy","env":""}`,
		},
		"step started": {
			e:    StepStarted{Time: when, Step: `step.gateway["calc"]`, Action: "http.check", Attempt: 2},
			want: `{"type":"step_started","time":"2025-03-04T05:06:07.890123456Z","step":"step.gateway[\"calc\"]","action":"http.check","attempt":2}`,
		},
		"step log in another zone": {
			e:    StepLog{Time: when.In(plus2), Step: "step.a", Stream: StreamStderr, Line: "oops <&>"},
			want: `{"type":"step_log","time":"2025-03-04T07:06:07.890123456+02:00","step":"step.a","stream":"stderr","line":"oops \u003c\u0026\u003e"}`,
		},
		"step progress": {
			e:    StepProgress{Time: when, Step: "step.a", Done: 3, Total: 5, Message: "3 of 5 URLs healthy"},
			want: `{"type":"step_progress","time":"2025-03-04T05:06:07.890123456Z","step":"step.a","done":3,"total":5,"message":"3 of 5 URLs healthy"}`,
		},
		"step finished": {
			e: StepFinished{Time: when, Step: "step.a", Status: StatusFailed, Attempt: 1,
				Duration: 1500 * time.Millisecond, Error: "exit status 1",
				Outputs: map[string]any{"code": 1, "lines": []string{"a", "b"}}},
			want: `{"type":"step_finished","time":"2025-03-04T05:06:07.890123456Z","step":"step.a","status":"failed","attempt":1,"duration_ns":1500000000,"error":"exit status 1","outputs":{"code":1,"lines":["a","b"]}}`,
		},
		"run finished as a pointer": {
			e:    &RunFinished{Time: when, RunID: "r1", Status: StatusOK, Duration: time.Second},
			want: `{"type":"run_finished","time":"2025-03-04T05:06:07.890123456Z","run_id":"r1","status":"ok","duration_ns":1000000000}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Marshal(tc.e)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := map[string]struct {
		e       Event
		wantErr string
	}{
		"nil event": {
			e:       nil,
			wantErr: "events: cannot encode <nil>",
		},
		"nil pointer": {
			e:       (*StepLog)(nil),
			wantErr: "events: cannot encode step_log: null",
		},
		"output that is no JSON": {
			e:       StepFinished{Time: when, Outputs: map[string]any{"x": math.NaN()}},
			wantErr: "events: cannot encode step_finished: json: unsupported value: NaN",
		},
		"time out of range": {
			e:       StepLog{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
			wantErr: "events: cannot encode step_log: json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Marshal(tc.e)
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Marshal = %s, %v; want error %q", got, err, tc.wantErr)
			}
		})
	}
}

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	s := JSONLines(&buf)
	s.Event(StepLog{Time: when, Step: "step.a", Stream: StreamStdout, Line: "hi"})
	s.Event(StepFinished{Time: when, Outputs: map[string]any{"x": math.Inf(1)}}) // left out
	s.Event(RunFinished{Time: when, RunID: "r", Status: StatusOK})
	want := `{"type":"step_log","time":"2025-03-04T05:06:07.890123456Z","step":"step.a","stream":"stdout","line":"hi"}
{"type":"run_finished","time":"2025-03-04T05:06:07.890123456Z","run_id":"r","status":"ok","duration_ns":0}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "unsupported value: +Inf") {
		t.Errorf("Err() = %v, want the encoding error", err)
	}
}

type failingWriter struct{ writes int }

func (w *failingWriter) Write([]byte) (int, error) {
	w.writes++
	return 0, errors.New("broken pipe")
}

func TestJSONLinesStopsAfterWriteError(t *testing.T) {
	w := &failingWriter{}
	s := JSONLines(w)
	s.Event(StepLog{Time: when})
	s.Event(StepLog{Time: when})
	if w.writes != 1 {
		t.Errorf("%d writes, want 1: a failed write must stop later ones", w.writes)
	}
	if err := s.Err(); err == nil || err.Error() != "events: writing JSON lines: broken pipe" {
		t.Errorf("Err() = %v, want the write error", err)
	}
}

func TestJSONLinesConcurrent(t *testing.T) {
	const goroutines, each = 8, 200
	var buf bytes.Buffer
	s := JSONLines(&buf)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				s.Event(StepLog{Time: when, Step: fmt.Sprintf("step.s%d", g), Line: strings.Repeat("x", i)})
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != goroutines*each {
		t.Fatalf("got %d lines, want %d", len(lines), goroutines*each)
	}
	next := make(map[string]int) // per step, the length of the next line
	for _, l := range lines {
		var got struct{ Type, Step, Line string }
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line is no JSON object (%v): %s", err, l)
		}
		if got.Type != "step_log" || len(got.Line) != next[got.Step] {
			t.Fatalf("line out of order or mangled: %s", l)
		}
		next[got.Step]++
	}
}
