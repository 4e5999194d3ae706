package sdk

import (
	"context"
	"io"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/schema"
)

// Plugin is what a plugin binary serves: a name, a version and its actions.
// Its schema must be the same on every start of the same executable (not
// depend on the environment): the host keeps it by executable.
type Plugin struct {
	Name        string
	Version     string
	Description string
	Actions     []Action
}

// Schema returns the plugin's schema.
func (p *Plugin) Schema() *schema.Plugin {
	s := &schema.Plugin{Name: p.Name, Version: p.Version, Description: p.Description, Actions: map[string]*schema.Action{}}
	for _, a := range p.Actions {
		as := a.Schema()
		s.Actions[as.Name] = as
	}
	return s
}

// Action is one step type. Implement it directly for full control over
// the schema and values, or build one from Go structs with NewAction.
type Action interface {
	Schema() *schema.Action
	// Run performs the action. req.Args conforms to the schema's ArgsType
	// and is wholly known. Values arrive plain, secrets included: zrun
	// masks secrets in everything the action logs, returns or fails with,
	// and the schema's Sensitive flags say which arguments are secret. The returned outputs must conform to
	// OutputsType (missing attributes are filled with nulls). An error fails
	// the step; its message is shown to the operator.
	Run(ctx context.Context, req *RunRequest) (*RunResponse, error)
}

// Validator is implemented by actions that check arguments beyond their
// types before anything runs. Unknown values (not yet computed) may appear
// in Args at validation time: check only what is known. Validate must
// depend on req alone (not on files, the network or the clock): the host
// keeps its answers for the same plugin executable and arguments, and does
// not ask again.
type Validator interface {
	Validate(ctx context.Context, req *ValidateRequest) Diagnostics
}

// Planner is implemented by actions that can say what they would change,
// for `zrun plan` and `--dry-run`. Actions without it are described by
// their arguments.
type Planner interface {
	Plan(ctx context.Context, req *PlanRequest) (*PlanResponse, error)
}

// RunInfo identifies the run and step an action is called for.
type RunInfo struct {
	RunID    string
	Workflow string
	Env      string
	// Step is the step's address, e.g. step.gateway or step.check["calc"].
	Step string
}

// RunRequest is the input of Action.Run.
type RunRequest struct {
	Args   cty.Value
	Info   RunInfo
	Target Target
	UI     UI
	// PluginLog, on the host's side of a plugin process, takes what the
	// process wrote to its own stderr while this call was the only one
	// it ran (hclog JSON or plain lines, in pieces), all of it before the
	// call returns. Nil sends it to UI.Stderr. Actions never see it.
	PluginLog io.Writer
}

// RunResponse is the result of Action.Run.
type RunResponse struct {
	Outputs     cty.Value
	Diagnostics Diagnostics
}

// ValidateRequest is the input of Validator.Validate, and one of the
// calls of Client.ValidateActions.
type ValidateRequest struct {
	// Action is the action's name.
	Action string
	Args   cty.Value
}

// PlanRequest is the input of Planner.Plan.
type PlanRequest struct {
	Args   cty.Value
	Info   RunInfo
	Target Target
}

// PlanResponse says what an action would do.
type PlanResponse struct {
	// Changes are one-line, human-readable descriptions of what would
	// happen, e.g. "GET http://localhost:8080/health until 200".
	Changes []string
	// NoOp is true when the action would change nothing.
	NoOp bool
}

// UI is an action's window to the operator while it runs. Everything
// written through it reaches the terminal, JSON events and the run's log,
// with secrets masked by the host. Safe for concurrent use.
type UI interface {
	// Logf writes one log line.
	Logf(format string, args ...any)
	// Stdout and Stderr stream a command's output, split into lines.
	Stdout() io.Writer
	Stderr() io.Writer
	// Progress reports how far the action has come; total 0 means unknown.
	Progress(done, total int64, message string)
	// Target is the machine the step runs against.
	Target() Target
	// Info identifies the run and the step.
	Info() RunInfo
	// InputStream returns the stream an argument declared with
	// schema.Attribute.Stream carries: the bytes another step produces
	// while this one runs. Read returns io.EOF only once the producing
	// step has succeeded; if it fails, is cancelled or its process dies,
	// Read returns an error saying so (stricter than bash's pipefail). It
	// returns nil, nil when the argument is null. Close it when done.
	InputStream(arg string) (io.ReadCloser, error)
	// OutputStream returns the writer of a stream output the action
	// declares (schema.Attribute.Stream), or nil, nil when no step
	// consumes it in this run. Writes block while the consumer is behind
	// (backpressure); Close ends the stream, which the consumer sees end
	// only after this step has succeeded.
	OutputStream(output string) (io.WriteCloser, error)
}
