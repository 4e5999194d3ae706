package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/engine/state"
)

// ResumeRequest says which recorded run to continue.
type ResumeRequest struct {
	RunID string
	// Params supply values the ledger could not keep (sensitive params)
	// or override recorded ones; so do params files (ParamsFiles), under
	// Params, as in RunRequest.
	Params      map[string]string
	ParamsFiles []string
	LockWait    time.Duration
	// Confirm is asked when the run's environment is protected.
	Confirm ConfirmFunc
	// Commit is the project's git commit now, as RunRequest's.
	Commit string
}

// Resume runs again what a recorded run did not finish: step instances it
// completed keep their recorded outputs, which feed the remaining steps;
// the new run is recorded as a continuation of the old. It refuses when the
// project changed so that the recorded outputs no longer fit the steps.
func (r *Runner) Resume(ctx context.Context, req ResumeRequest) (*RunResult, hcl.Diagnostics) {
	if r.opts.Ledger == nil {
		return nil, resumeDiag("zrun has no ledger to resume from.")
	}
	old, err := r.opts.Ledger.GetRun(ctx, req.RunID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, resumeDiag(fmt.Sprintf("There is no run %q in the ledger; `zrun runs` lists them.", req.RunID))
	}
	if err != nil {
		return nil, resumeDiag(err.Error())
	}
	if old.Status == state.StatusOK {
		return nil, resumeDiag(fmt.Sprintf("Run %s succeeded: there is nothing to resume.", old.ID))
	}
	// A run still recorded as running whose zrun is gone (kill -9, a
	// crash) is abandoned: the lock's dead-holder check says so at once for
	// a zrun of this machine, and the continuation takes its lock over.
	if old.Status == state.StatusRunning && state.HolderAlive(state.LockHolder{RunID: old.ID, Host: old.Host, PID: old.PID}) {
		host, _ := os.Hostname()
		if old.Host == host {
			return nil, resumeDiag(fmt.Sprintf("Run %s is still running (zrun process %d on this machine). Wait for it to end, or stop it first.", old.ID, old.PID))
		}
		return nil, resumeDiag(fmt.Sprintf("Run %s is still running, or its zrun on %s is gone, which this machine cannot check. Wait for it, or, if it is gone, `zrun unlock %s --force` first.", old.ID, old.Host, old.ID))
	}
	steps, err := r.opts.Ledger.Steps(ctx, old.ID)
	if err != nil {
		return nil, resumeDiag(err.Error())
	}
	files, diags := loadParamsFiles(req.ParamsFiles)
	if diags.HasErrors() {
		return nil, diags
	}
	params, diags := resumeParams(old, req.Params, fileParamNames(files))
	if diags.HasErrors() {
		return nil, diags
	}
	done, diags := r.recordedOutputs(ctx, old, steps)
	if diags.HasErrors() {
		return nil, diags
	}
	return r.run(ctx, RunRequest{Workflow: old.Workflow, Env: old.Env, Params: params, paramsFiles: files,
		LockWait: req.LockWait, ResumeOf: old.ID, Confirm: req.Confirm, Commit: req.Commit}, done)
}

func resumeDiag(detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot resume", Detail: detail}}
}

// resumeParams recovers the old run's params; sensitive ones were never
// recorded and must be given again. Those that params files set (inFiles)
// come from the files instead.
func resumeParams(old *state.Run, given map[string]string, inFiles map[string]bool) (map[string]string, hcl.Diagnostics) {
	out := map[string]string{}
	var missing []string
	for k, v := range old.Params {
		if g, ok := given[k]; ok {
			out[k] = g
			continue
		}
		if inFiles[k] {
			continue
		}
		if v == Redacted {
			missing = append(missing, k)
			continue
		}
		out[k] = v
	}
	for k, v := range given {
		out[k] = v
	}
	if len(missing) > 0 {
		return nil, resumeDiag(fmt.Sprintf("Run %s had sensitive params, which the ledger never keeps: give them again with --param or --params-file (%s).",
			old.ID, strings.Join(missing, ", ")))
	}
	return out, nil
}

// recordedOutputs collects the outputs of the instances the old run
// completed, checking that each still fits its step in the current project.
func (r *Runner) recordedOutputs(ctx context.Context, old *state.Run, steps []*state.Step) (map[string]cty.Value, hcl.Diagnostics) {
	wf, diags := r.workflow(old.Workflow)
	if diags.HasErrors() {
		return nil, resumeDiag(fmt.Sprintf("Run %s ran workflow %q, which the project no longer has.", old.ID, old.Workflow))
	}
	wb, diags := r.bind(ctx, wf)
	if diags.HasErrors() {
		return nil, diags
	}
	done := map[string]cty.Value{}
	var problems []string
	for _, s := range steps {
		if s.Status != state.StatusOK || s.Outputs == nil {
			continue
		}
		v, err := loadOutputs(s.Outputs)
		if err != nil {
			continue // not reusable: the step runs again
		}
		if strings.Contains(s.Addr, "/") {
			// A step of a called workflow: its workflow is checked when it runs.
			done[s.Addr] = v
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(s.Addr, "step."), "[")
		b, ok := wb.steps[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s no longer exists", s.Addr))
			continue
		case b.actionName() != s.Action:
			problems = append(problems, fmt.Sprintf("%s now runs %s, not %s", s.Addr, b.actionName(), s.Action))
			continue
		case b.action != nil:
			cv, err := convert.Convert(v, b.action.OutputsType())
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s's recorded outputs no longer fit %s: %s", s.Addr, b.actionName(), err))
				continue
			}
			v = cv
		}
		done[s.Addr] = v
	}
	if len(problems) > 0 && old.ConfigHash != r.opts.Config.Hash {
		return nil, resumeDiag(fmt.Sprintf("The project changed since run %s, so its recorded results cannot be reused: %s. Run the workflow afresh.",
			old.ID, strings.Join(problems, "; ")))
	}
	return done, nil
}
