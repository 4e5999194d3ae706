package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/state"
)

// lockKey is what a run locks: its environment, so deploy, rollback and
// restore on prod exclude each other, unless the workflow names another
// key (then per environment too: a backup lock on stage does not block prod).
func lockKey(wf *dsl.Workflow, env *dsl.Environment) string {
	if wf.Lock != "" {
		return "lock:" + wf.Lock + "@" + env.Name
	}
	return "env:" + env.Name
}

// lockPoll is how often a run waiting for a lock tries again.
const lockPoll = 500 * time.Millisecond

// lock takes the run's lock, waiting up to wait, and returns the function
// that releases it.
func (r *Runner) lock(ctx context.Context, x *execution, wf *dsl.Workflow, env *dsl.Environment, wait time.Duration) (func(), hcl.Diagnostics) {
	user, host := whoami()
	h := state.LockHolder{Key: lockKey(wf, env), RunID: x.id, User: user, Host: host, PID: os.Getpid(), StartedAt: x.started}
	deadline := time.Now().Add(wait)
	for {
		err := r.opts.Ledger.Lock(ctx, h)
		if err == nil {
			return func() { _ = r.opts.Ledger.Unlock(context.WithoutCancel(ctx), h.Key, h.RunID) }, nil
		}
		var locked *state.LockedError
		if !errors.As(err, &locked) {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot take the lock",
				Detail: fmt.Sprintf("The ledger could not lock %q: %s.", h.Key, err), Extra: lockFailure{}}}
		}
		if time.Now().After(deadline) {
			detail := fmt.Sprintf("Workflow %q cannot run in environment %q: %s. Wait for it to finish, run again with --lock-wait 5m to wait for it, or, if that run is gone for good, `zrun unlock %s --force`.",
				wf.Name, env.Name, locked, locked.Holder.RunID)
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Environment locked", Detail: detail, Extra: lockFailure{}}}
		}
		select {
		case <-ctx.Done():
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cancelled while waiting for the lock",
				Detail: locked.Error(), Extra: lockFailure{}}}
		case <-time.After(min(lockPoll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// lockFailure marks a diagnostic about a held lock.
type lockFailure struct{}

// HasLockFailure reports whether diags say the run could not take its lock.
func HasLockFailure(diags hcl.Diagnostics) bool { return hasKind[lockFailure](diags) }
