package engine

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
)

// Confirmation is what a run in a protected environment asks its caller
// to confirm.
type Confirmation struct {
	Workflow string
	Env      string
	// ResumeOf is the run a resumed run continues, "" for a fresh run.
	ResumeOf string
}

// ConfirmFunc asks whoever started a run in a protected environment
// (`protected = true`) whether it may go on. Run calls it once, after
// everything was validated and read (params, secrets, plugins started) and
// before the lock is taken and anything runs. It returns how the run was
// confirmed ("typed the environment's name", "--yes"), which the ledger
// records after user@host as the run's ConfirmedBy, or an error saying why
// not, which stops the run with nothing run and nothing recorded.
type ConfirmFunc func(ctx context.Context, c Confirmation) (how string, err error)

// notConfirmed marks the diagnostic of a run its caller did not confirm.
type notConfirmed struct{}

// HasNotConfirmed reports whether diags say a run in a protected
// environment was not confirmed.
func HasNotConfirmed(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if _, ok := d.Extra.(notConfirmed); ok && d.Severity == hcl.DiagError {
			return true
		}
	}
	return false
}

// confirm asks for a run in a protected environment to be confirmed, and
// returns who confirmed it and how ("" for an environment that is not
// protected).
func (r *Runner) confirm(ctx context.Context, req RunRequest, wf *dsl.Workflow, env *dsl.Environment) (string, hcl.Diagnostics) {
	if !env.Protected() {
		return "", nil
	}
	at, _ := env.ProtectedRange()
	notConfirmedDiag := func(detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Run not confirmed", Detail: detail, Subject: &at, Extra: notConfirmed{}}}
	}
	if req.Confirm == nil {
		return "", notConfirmedDiag(fmt.Sprintf("Environment %q is protected: a run there must be confirmed, and nothing here can ask. Nothing ran.", env.Name))
	}
	how, err := req.Confirm(ctx, Confirmation{Workflow: wf.Name, Env: env.Name, ResumeOf: req.ResumeOf})
	if ctx.Err() != nil {
		return "", cancelledDiags("Running", wf)
	}
	if err != nil {
		return "", notConfirmedDiag(fmt.Sprintf("%s Nothing ran.", err))
	}
	user, host := whoami()
	return fmt.Sprintf("%s@%s (%s)", user, host, how), nil
}
