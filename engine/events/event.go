package events

import "time"

// Event is one thing that happened during a run. It is sealed: the types in
// this package are all the events there are, so a renderer's type switch
// can be complete. Each carries the Time it happened.
type Event interface {
	isEvent()
}

// Status is how a step or a run ended, or that it is still running.
type Status string

// The statuses a step or run can have.
const (
	StatusOK        Status = "ok"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	StatusRunning   Status = "running"
)

// RunStarted is emitted once, before any step starts.
type RunStarted struct {
	Time     time.Time `json:"time"`
	RunID    string    `json:"run_id"`
	Workflow string    `json:"workflow"`
	Env      string    `json:"env"`
	// Params holds the run's parameters, sensitive ones already redacted.
	Params map[string]string `json:"params,omitempty"`
}

// StepStarted is emitted each time a step's action starts, once per attempt.
type StepStarted struct {
	Time time.Time `json:"time"`
	// Step is the step's address in HCL traversal syntax: step.gateway, or
	// step.gateway["calc"] for one instance of a for_each.
	Step string `json:"step"`
	// Action is the action the step runs, as <plugin>.<action>.
	Action string `json:"action"`
	// Attempt counts from 1; retries increase it.
	Attempt int `json:"attempt"`
}

// The streams a StepLog line comes from.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	StreamLog    = "log"
)

// StepLog is one line of a step's output, without its line ending.
type StepLog struct {
	Time time.Time `json:"time"`
	Step string    `json:"step"`
	// Stream is StreamStdout or StreamStderr for a command's output, and
	// StreamLog for what the action itself reports.
	Stream string `json:"stream"`
	Line   string `json:"line"`
}

// StepProgress reports how far a step has got: Done out of Total units (bytes,
// URLs, ...). A Total of 0 means the total is not known.
type StepProgress struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	Done    int64     `json:"done"`
	Total   int64     `json:"total"`
	Message string    `json:"message,omitempty"`
}

// StepFinished is emitted when a step ends, once per attempt, and also for a
// step that never started (Status skipped or cancelled).
type StepFinished struct {
	Time     time.Time     `json:"time"`
	Step     string        `json:"step"`
	Status   Status        `json:"status"`
	Attempt  int           `json:"attempt"`
	Duration time.Duration `json:"duration_ns"`
	// Error says why the step failed or was skipped.
	Error string `json:"error,omitempty"`
	// Outputs holds the step's outputs as JSON-able values, sensitive ones
	// already redacted.
	Outputs map[string]any `json:"outputs,omitempty"`
}

// RunFinished is emitted once, after every step has finished.
type RunFinished struct {
	Time     time.Time      `json:"time"`
	RunID    string         `json:"run_id"`
	Status   Status         `json:"status"`
	Duration time.Duration  `json:"duration_ns"`
	Error    string         `json:"error,omitempty"`
	Outputs  map[string]any `json:"outputs,omitempty"`
}

func (RunStarted) isEvent()   {}
func (StepStarted) isEvent()  {}
func (StepLog) isEvent()      {}
func (StepProgress) isEvent() {}
func (StepFinished) isEvent() {}
func (RunFinished) isEvent()  {}

// Interface guards
var (
	_ Event = RunStarted{}
	_ Event = StepStarted{}
	_ Event = StepLog{}
	_ Event = StepProgress{}
	_ Event = StepFinished{}
	_ Event = RunFinished{}
)
