package ufw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// defaultConfirmTimeout is how long a confirmed apply waits for a new
// login before the target puts the previous rules back.
const defaultConfirmTimeout = 60 * time.Second

type rulesArgs struct {
	Defaults       map[string]string `zrun:"defaults,optional" help:"Default policies: { incoming = \"deny\", outgoing = \"allow\", routed = \"deny\" }, each \"allow\", \"deny\" or \"reject\". A policy left out stays as it is."`
	Logging        *string           `zrun:"logging" help:"ufw's logging level: \"off\", \"low\", \"medium\", \"high\" or \"full\". Default: left as it is."`
	Rules          cty.Value         `zrun:"rules,optional" help:"The rules, in ufw's order (first match wins), each an object: action (\"allow\", \"deny\", \"limit\", \"reject\"), port (443, \"443\", a range \"6000:6007\" with a proto, or a service name from /etc/services such as \"https\"; default every port), proto (\"tcp\", \"udp\", \"any\"; default \"any\"), from and to (\"any\", an address or a network; default \"any\"), interface (\"eth0\"), direction (\"in\" or \"out\"; default \"in\"), comment. Rules the target has and the set does not are deleted (application-profile, routed and logged rules are left alone)."`
	Sudo           *bool             `zrun:"sudo" help:"Run ufw through sudo -n. Default: true (a root login runs it directly)."`
	AllowSSHBlock  bool              `zrun:"allow_ssh_block,optional" help:"Apply a rule set that would refuse new connections to the SSH port zrun is connected to (refused otherwise). The confirmed apply still puts the previous rules back if zrun cannot log in again."`
	ConfirmTimeout *string           `zrun:"confirm_timeout" help:"How long the target waits for zrun to log in anew after an apply before it puts the previous rules back by itself: a duration such as \"60s\" or \"2m\", at least \"2s\". Default: \"60s\"."`
	Enable         *bool             `zrun:"enable" help:"Whether ufw should be active: true enables it after the rules are in place (with --force, no prompt), false disables it. Default: true."`
}

type rulesOutputs struct {
	Changed  bool     `zrun:"changed" help:"Whether anything was changed."`
	Added    []string `zrun:"added" help:"The rules added, as plans show them (\"allow 443/tcp from any\")."`
	Removed  []string `zrun:"removed" help:"The rules deleted."`
	Reverted bool     `zrun:"reverted" help:"Whether the previous rules were put back. A reverted apply fails the step, so a step that succeeds reports false; the step's error says whether a failed one was reverted."`
}

func newRules() sdk.Action {
	return sdk.NewAction("rules",
		"Make ufw's rules, default policies and logging level those declared, changing only what differs, rule by rule (never a reset); "+
			"refuse a set that would lock out zrun's SSH connection; and confirm the change with a new login, the target putting the previous rules back by itself if none comes.",
		runRules, sdk.WithValidate(validateRules), sdk.WithPlan(planRules))
}

func validateRules(_ context.Context, a rulesArgs, known sdk.Known) sdk.Diagnostics {
	_, diags := a.parseWant(known)
	return diags
}

// connect probes the target: a runner for ufw's commands (sudo unless
// the login is root or sudo = false) and the SSH connection to guard.
func connect(ctx context.Context, t sdk.Target, sudo *bool) (*runner, *sshConn, error) {
	root, conn, err := probe(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	return &runner{t: t, sudo: !root && (sudo == nil || *sudo)}, conn, nil
}

func (a *rulesArgs) confirmTimeout() (time.Duration, error) {
	if a.ConfirmTimeout == nil {
		return defaultConfirmTimeout, nil
	}
	d, err := time.ParseDuration(*a.ConfirmTimeout)
	if err != nil || d < 2*time.Second || d > 24*time.Hour {
		return 0, fmt.Errorf("confirm_timeout is a duration from \"2s\" to \"24h\", such as \"60s\" or \"2m\"; got %q", *a.ConfirmTimeout)
	}
	return d, nil
}

// prepare reads the target's firewall and the step's rule set, and checks
// the set against zrun's SSH connection.
func (a *rulesArgs) prepare(ctx context.Context, t sdk.Target) (*runner, *state, *want, []change, error) {
	w, diags := a.parseWant(sdk.Known{})
	if err := diags.Err(); err != nil {
		return nil, nil, nil, nil, err
	}
	r, conn, err := connect(ctx, t, a.Sudo)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cur, err := r.readState(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := w.resolve(ctx, r.t, cur.IPv6); err != nil {
		return nil, nil, nil, nil, err
	}
	if conn != nil && !a.AllowSSHBlock {
		if err := conn.guard(w, cur); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return r, cur, w, diff(cur, w), nil
}

func planRules(ctx context.Context, a rulesArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if target == nil || !known.All() {
		return &sdk.PlanResponse{Changes: []string{"make ufw's rules on " + targetName(target) + " those declared (known at run time)"}}, nil
	}
	_, _, _, changes, err := a.prepare(ctx, target)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return &sdk.PlanResponse{Changes: []string{"ufw on " + target.Name() + " is up to date"}, NoOp: true}, nil
	}
	return &sdk.PlanResponse{Changes: changeLines(changes)}, nil
}

func targetName(t sdk.Target) string {
	if t == nil {
		return "the target"
	}
	return t.Name()
}

// testHookApplied, when set, runs after the changes are applied and
// before the confirmation: the tests stop zrun there.
var testHookApplied func(ctx context.Context) error

func runRules(ctx context.Context, a rulesArgs, ui sdk.UI) (rulesOutputs, error) {
	var out rulesOutputs
	if ui == nil || ui.Target() == nil {
		return out, errors.New("the host gave the step no target")
	}
	name := ui.Target().Name()
	timeout, err := a.confirmTimeout()
	if err != nil {
		return out, err
	}
	r, cur, w, changes, err := a.prepare(ctx, ui.Target())
	if err != nil {
		return out, err
	}
	for _, line := range cur.Others {
		ui.Logf("left alone on %s (not a rule zrun manages): %s", name, line)
	}
	if len(changes) == 0 {
		ui.Logf("ufw on %s is up to date", name)
		return out, nil
	}
	// Until the apply is done the deadline leaves it time: a ufw command
	// takes up to a second or two on a busy machine.
	v, err := arm(ctx, r, timeout, 10*time.Second+time.Duration(len(changes))*3*time.Second)
	if err != nil {
		return out, err
	}
	ui.Logf("saved the current rules on %s in %s: they come back by themselves unless a new login confirms the change", name, v.dir)
	if err := apply(ctx, r, v, changes, ui, &out); err != nil {
		if errors.Is(err, errRevertFired) {
			return out, v.awaitRevert(ctx, cur, err)
		}
		return out, v.undo(ctx, cur, fmt.Errorf("applying the rules on %s failed: %w", name, err))
	}
	// The change proves itself: read back, nothing is left to do.
	if again, err := r.readState(ctx); err != nil {
		return out, v.undo(ctx, cur, fmt.Errorf("cannot read the rules back on %s: %w", name, err))
	} else if left := diff(again, w); len(left) > 0 {
		return out, v.undo(ctx, cur, fmt.Errorf("ufw on %s does not hold the rule set after the apply; still different: %s", name, left[0].Line))
	}
	if err := v.extend(ctx); errors.Is(err, errRevertFired) {
		return out, v.awaitRevert(ctx, cur, err)
	} else if err != nil {
		return out, v.undo(ctx, cur, err)
	}
	ui.Logf("applied; the previous rules come back at %s unless a new login confirms the change", v.due().UTC().Format(time.TimeOnly))
	if testHookApplied != nil {
		if err := testHookApplied(ctx); err != nil {
			return out, err
		}
	}
	if err := v.confirm(ctx); err != nil {
		return out, v.awaitRevert(ctx, cur, err)
	}
	ui.Logf("a new login to %s works: the revert is cancelled, the new rules stay", name)
	return out, nil
}

// applyScript runs one ufw command unless the revert has begun ($1 is
// the snapshot's folder).
const applyScript = `[ -e "$1/armed" ] || exit 97 # revertBegun
shift
exec ufw "$@"`

// revertBegun is the exit code of applyScript and extend when the revert
// has begun.
const revertBegun = 97

// apply runs the changes in order, and stops if the revert begins.
func apply(ctx context.Context, r *runner, v *revert, changes []change, ui sdk.UI, out *rulesOutputs) error {
	for i, c := range changes {
		ui.Progress(int64(i), int64(len(changes)), c.Line)
		ui.Logf("%s", c.Line)
		if _, err := r.sh(ctx, applyScript, append([]string{v.dir}, c.Args...)...); err != nil {
			if exitCode(err) == revertBegun {
				return errRevertFired
			}
			return err
		}
		out.Changed = true
		if c.Old != nil {
			out.Removed = append(out.Removed, c.Old.String())
		}
		if c.Rule != nil && c.Added {
			out.Added = append(out.Added, c.Rule.String())
		} else if c.Rule != nil {
			out.Removed = append(out.Removed, c.Rule.String())
		}
	}
	ui.Progress(int64(len(changes)), int64(len(changes)), "applied")
	return nil
}

// undo puts the previous rules back at once after a failed apply and
// checks they are back.
func (v *revert) undo(ctx context.Context, prev *state, cause error) error {
	if err := v.now(ctx); err != nil {
		return fmt.Errorf("%w; putting the previous rules back failed too (%v): the target still does it by itself at %s", cause, err, v.due().UTC().Format(time.TimeOnly))
	}
	if err := v.check(ctx, prev); err != nil {
		return fmt.Errorf("%w; %v", cause, err)
	}
	return fmt.Errorf("%w; the previous rules are back", cause)
}

// awaitRevert waits, after a confirmation that failed, for the target to
// put the previous rules back, and checks they are.
func (v *revert) awaitRevert(ctx context.Context, prev *state, cause error) error {
	name := v.r.t.Name()
	if errors.Is(cause, errRevertFired) {
		cause = fmt.Errorf("the confirmation reached %s after confirm_timeout (%s): the revert had begun", name, v.timeout)
	}
	if err := v.wait(ctx); err != nil {
		return fmt.Errorf("%w, so the change is not confirmed; %v: the target reverts by itself at %s", cause, err, v.due().UTC().Format(time.TimeOnly))
	}
	if err := v.check(ctx, prev); err != nil {
		return fmt.Errorf("%w; %v", cause, err)
	}
	return fmt.Errorf("%w, so the change is not confirmed: the previous rules came back on %s by themselves (reverted) after %s", cause, name, v.timeout)
}

// check reads the firewall and compares it with prev.
func (v *revert) check(ctx context.Context, prev *state) error {
	got, err := v.r.readState(ctx)
	if err != nil {
		return fmt.Errorf("cannot read the rules after the revert: %w", err)
	}
	back := &want{Defaults: prev.Defaults, Logging: prev.Logging, Rules: prev.Rules, Enable: prev.Enabled}
	if left := diff(got, back); len(left) > 0 {
		return fmt.Errorf("after the revert the rules on %s still differ from the previous ones (%s)", v.r.t.Name(), strings.Join(changeLines(left), "; "))
	}
	return nil
}

func changeLines(cs []change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Line)
	}
	return out
}

// Interface guards
var _ sdk.Action = newRules()
