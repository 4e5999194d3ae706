package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zrun-dev/zrun/engine/events"
)

// Status of a run or a step attempt: the engine's (events.Status), and
// StatusAbandoned, which only the ledger knows.
type Status = events.Status

const (
	StatusRunning   = events.StatusRunning
	StatusOK        = events.StatusOK
	StatusFailed    = events.StatusFailed
	StatusSkipped   = events.StatusSkipped
	StatusCancelled = events.StatusCancelled
	// StatusAbandoned is a run whose process died without finishing it
	// (kill -9, a crash, a lost machine); set when its lock is taken over.
	StatusAbandoned Status = "abandoned"
)

// Run is one run of a workflow.
type Run struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	Env      string `json:"env"`
	// Params are the run's params as shown to operators: sensitive ones
	// already redacted.
	Params map[string]string `json:"params,omitempty"`
	// User and Host say who ran it (user@host); PID is the zrun process.
	User string `json:"user"`
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// ConfigHash is the hash of the project's files the run used.
	ConfigHash string `json:"config_hash"`
	// ResumeOf is the run this one continues, "" for a fresh run.
	ResumeOf string `json:"resume_of,omitempty"`
	// ConfirmedBy says who confirmed a run in a protected environment,
	// and how: "ada@build-1 (typed the environment's name)", "ada@ci-3
	// (--yes)"; "" when the environment is not protected.
	ConfirmedBy string `json:"confirmed_by,omitempty"`
	// Commit is the project's git commit when the run began ("" outside
	// a git work tree), with "-dirty" appended when tracked files had
	// uncommitted changes: what a release was made from.
	Commit    string    `json:"commit,omitempty"`
	LockKey   string    `json:"lock_key"`
	Status    Status    `json:"status"`
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"` // zero while running
	// Outputs is the JSON of the workflow's outputs, redacted.
	Outputs []byte `json:"outputs,omitempty"`
}

// Step is one attempt of one step instance.
type Step struct {
	RunID string `json:"run_id"`
	// Addr is the instance address: step.name, step.name["key"],
	// step.call/step.inner.
	Addr      string    `json:"step"`
	Action    string    `json:"action"`
	Attempt   int       `json:"attempt"`
	Status    Status    `json:"status"`
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// Outputs is the JSON (cty JSON with its type) of the step's outputs,
	// for resume; nil when the step had sensitive outputs, which are
	// never stored: resume runs such a step again.
	Outputs []byte `json:"outputs,omitempty"`
}

// LogLine is one line a step printed.
type LogLine struct {
	RunID string
	Step  string
	// Seq orders a run's lines; assigned by the Store, increasing.
	Seq    int64
	Time   time.Time
	Stream string // stdout, stderr, log
	Line   string
}

// Filter selects runs; zero fields match everything.
type Filter struct {
	Workflow string
	Env      string
	Status   Status
	Limit    int // 0: the store's default (100)
}

// LockHolder is who holds (or asks for) a lock.
type LockHolder struct {
	Key       string
	RunID     string
	User      string
	Host      string
	PID       int
	StartedAt time.Time
}

// LockedError is returned by Lock when another run holds the key.
type LockedError struct{ Holder LockHolder }

func (e *LockedError) Error() string {
	return fmt.Sprintf("locked by run %s (%s@%s, started %s)", e.Holder.RunID, e.Holder.User, e.Holder.Host,
		e.Holder.StartedAt.Local().Format(time.RFC3339))
}

// ErrNotFound is returned for a run or lock that does not exist.
var ErrNotFound = errors.New("not found")

// Store is the ledger's storage. Every method is safe for concurrent use
// and durable when it returns: a kill -9 at any moment leaves the store
// consistent (a run is then "running" until its lock is taken over, which
// marks it abandoned). A store whose data is damaged never panics: its
// reads return what they could read along with an error wrapping
// ErrDamaged (a *DamageError), so that one bad record hides no other.
type Store interface {
	// CreateRun records a new run (status running).
	CreateRun(ctx context.Context, r *Run) error
	// FinishRun records a run's end.
	FinishRun(ctx context.Context, id string, status Status, errMsg string, outputs []byte, endedAt time.Time) error
	// PutSteps records step attempts in one transaction, all or none; a
	// record replaces an earlier one of the same (run, addr, attempt),
	// which keeps its place in Steps.
	PutSteps(ctx context.Context, s []*Step) error
	// AppendLogs records lines in order, assigning their Seq.
	AppendLogs(ctx context.Context, lines []LogLine) error

	GetRun(ctx context.Context, id string) (*Run, error)
	// ListRuns returns matching runs, newest first.
	ListRuns(ctx context.Context, f Filter) ([]*Run, error)
	// Steps returns a run's step attempts, in the order they started.
	Steps(ctx context.Context, runID string) ([]*Step, error)
	// Logs returns a run's lines with Seq > afterSeq, of one step or of
	// all ("" step), in order.
	Logs(ctx context.Context, runID, step string, afterSeq int64) ([]LogLine, error)

	// Lock takes key for h.RunID, or returns a *LockedError naming the
	// holder. A holder on the same host whose process is gone is taken
	// over (its run marked abandoned).
	Lock(ctx context.Context, h LockHolder) error
	// Unlock releases key if runID holds it.
	Unlock(ctx context.Context, key, runID string) error
	// ForceUnlock releases whatever lock runID holds, for `zrun unlock --force`.
	ForceUnlock(ctx context.Context, runID string) error
	// Locks lists the held locks.
	Locks(ctx context.Context) ([]LockHolder, error)

	Close() error
}
