package ufw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
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
	r, conn, cur, err := connect(ctx, t, a.Sudo)
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
	out := rulesOutputs{Added: []string{}, Removed: []string{}}
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
	again, err := v.apply(ctx, changes, ui, &out)
	if errors.Is(err, errRevertFired) {
		return out, v.awaitRevert(ctx, cur, err)
	} else if err != nil {
		return out, v.undo(ctx, cur, fmt.Errorf("applying the rules on %s failed: %w", name, err))
	}
	// The change proves itself: read back, nothing is left to do.
	if left := diff(again, w); len(left) > 0 {
		return out, v.undo(ctx, cur, fmt.Errorf("ufw on %s does not hold the rule set after the apply; still different: %s", name, left[0].Line))
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

// revertBegun is the exit code of an apply that stopped because the
// revert had begun.
const revertBegun = 97

// markers are the lines an apply prints on its standard output.
const (
	appliedMarker  = "zrun-ufw-applied"
	extendedMarker = "zrun-ufw-extended"
)

// applyScript is the shell of an apply: the changes' ufw commands one by
// one, each only if the revert has not begun (the snapshot's folder is
// $1), each followed by a marker line; then the revert's deadline moved
// to $2 seconds from now (the confirmation gets the whole
// confirm_timeout), and the firewall's files ("$@" after $2) read back.
// One command for all of it: a command costs a round trip and a session.
func applyScript(changes []change) string {
	var b strings.Builder
	b.WriteString("d=$1; secs=$2; shift 2\n")
	for _, c := range changes {
		b.WriteString(`[ -e "$d/armed" ] || exit 97` + "\n")
		b.WriteString("ufw")
		for _, a := range c.Args {
			b.WriteString(" '" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		}
		b.WriteString(" >&2 || exit $?\necho " + appliedMarker + "\n")
	}
	b.WriteString(`[ -e "$d/armed" ] || exit 97
echo $(( $(date +%s) + secs + 1 )) > "$d/deadline.new" && mv "$d/deadline.new" "$d/deadline" || exit 96
echo ` + extendedMarker + "\n")
	b.WriteString(readFiles)
	return b.String()
}

// apply runs the changes in order, stopping if the revert begins, moves
// the revert's deadline on, and returns the firewall as it is then.
func (v *revert) apply(ctx context.Context, changes []change, ui sdk.UI, out *rulesOutputs) (*state, error) {
	var stdout, stderr strings.Builder
	applied := 0
	lines := &lineWriter{line: func(line string) {
		stdout.WriteString(line + "\n")
		switch line {
		case appliedMarker:
			if applied < len(changes) {
				ui.Logf("%s", changes[applied].Line)
				recordChange(changes[applied], out)
			}
			applied++
			ui.Progress(int64(applied), int64(len(changes)), fmt.Sprintf("%d of %d changes applied", applied, len(changes)))
		case extendedMarker:
			v.armedAt = time.Now()
		}
	}}
	args := append([]string{"sh", "-c", applyScript(changes), "zrun-ufw", v.dir, strconv.Itoa(int(v.timeout / time.Second))}, stateFiles...)
	res, err := v.r.t.Exec(ctx, &sdk.Command{Args: args, Sudo: v.r.sudo, Stdout: lines, Stderr: &stderr, Env: map[string]string{"LC_ALL": "C"}})
	lines.flush()
	switch {
	case err != nil:
		return nil, fmt.Errorf("ufw on %s: %w", v.r.t.Name(), err)
	case res.ExitCode == revertBegun:
		return nil, errRevertFired
	case res.ExitCode != 0 && applied < len(changes):
		return nil, fmt.Errorf("%q (ufw %s) exited with code %d: %s", changes[applied].Line, strings.Join(changes[applied].Args, " "), res.ExitCode, strings.TrimSpace(stderr.String()))
	case res.ExitCode != 0:
		return nil, fmt.Errorf("moving the revert's deadline on %s failed (exit %d): %s", v.r.t.Name(), res.ExitCode, strings.TrimSpace(stderr.String()))
	}
	_, files, ok := strings.Cut(stdout.String(), extendedMarker+"\n")
	if !ok {
		return nil, fmt.Errorf("ufw on %s: the apply ended without reading the rules back", v.r.t.Name())
	}
	return v.r.parseFiles(files)
}

// recordChange adds an applied change to the outputs.
func recordChange(c change, out *rulesOutputs) {
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

// lineWriter calls line for each line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// flush passes on a last line without its newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
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
	v.remove(ctx)
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
	v.remove(ctx)
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
