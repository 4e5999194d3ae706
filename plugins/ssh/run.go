package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/capture"
)

// DefaultCaptureLimit is how many bytes of stdout (and of stderr) ssh.run
// keeps in its outputs unless capture_limit says otherwise.
const DefaultCaptureLimit = 1 << 20

// maxScript bounds a script passed as one argument of `sh -c`: Linux
// refuses a single argument over 128 KiB (MAX_ARG_STRLEN), and so does
// the remote shell sshd starts.
const maxScript = 100 << 10

// errorLines is how many lines of output a failure message quotes.
const errorLines = 10

type runArgs struct {
	Command      []string          `zrun:"command,optional" help:"The program and its arguments, run without a shell. Exactly one of command and script must be set."`
	Script       *string           `zrun:"script" help:"A shell script, run with the shell's -c. Exactly one of command and script must be set."`
	Shell        *string           `zrun:"shell" help:"The shell that runs script. Default: \"sh\"."`
	Env          map[string]string `zrun:"env,optional" help:"Environment variables, added to (or overriding) the target's environment."`
	Dir          string            `zrun:"dir,optional" help:"Working directory on the target; the login directory when unset."`
	Sudo         bool              `zrun:"sudo,optional" help:"Run as root through sudo -n (no password prompt). A host declared with sudo = true runs every command so."`
	Stdin        *string           `zrun:"stdin" help:"Text written to the command's standard input."`
	ExpectExit   []int             `zrun:"expect_exit,optional" help:"Exit codes that count as success. Default: [0]."`
	CaptureLimit *int64            `zrun:"capture_limit" help:"Maximum bytes of stdout and of stderr kept in the outputs; the rest is still streamed. Default: 1 MiB."`
	Prefix       *bool             `zrun:"prefix" help:"Start every output line with [host]. Default: on a remote target whose name the step's address does not already carry."`
}

type runOutputs struct {
	Host     string `zrun:"host" help:"The target's name: \"local\" or the host's name."`
	ExitCode int    `zrun:"exit_code" help:"The command's exit code; 128+N when killed by signal N."`
	Stdout   string `zrun:"stdout" help:"Captured standard output, without one trailing newline."`
	Stderr   string `zrun:"stderr" help:"Captured standard error, without one trailing newline."`
}

func newRun() sdk.Action {
	return sdk.NewAction("run",
		"Run a command or a shell script on the step's target, optionally through sudo, streaming its output "+
			"line by line. Fails unless the exit code is one of expect_exit.",
		runCommand, sdk.WithValidate(validateRun), sdk.WithPlan(planRun))
}

func validateRun(_ context.Context, a runArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("command") && known.Has("script") {
		switch {
		case a.Command != nil && a.Script != nil:
			diags = diags.Errorf(cty.GetAttrPath("script"), "Conflicting arguments",
				`Only one of "command" and "script" may be set: "command" runs a program directly, "script" runs through a shell. Remove one of them.`)
		case a.Command == nil && a.Script == nil:
			diags = diags.Errorf(cty.GetAttrPath("command"), "Missing command",
				`Set either "command" (a program and its arguments, e.g. ["systemctl", "restart", "nginx"]) or "script" (run with sh -c).`)
		}
	}
	if known.Has("command") && a.Command != nil {
		switch {
		case len(a.Command) == 0:
			diags = diags.Errorf(cty.GetAttrPath("command"), "Empty command", `"command" needs at least the program to run, e.g. ["uptime"].`)
		case a.Command[0] == "":
			diags = diags.Errorf(cty.GetAttrPath("command").IndexInt(0), "Empty program name", `The first element of "command" names the program to run.`)
		}
	}
	if known.Has("script") && a.Script != nil && len(*a.Script) > maxScript {
		diags = diags.Errorf(cty.GetAttrPath("script"), "Script too long",
			fmt.Sprintf("The script is %d bytes; a script passed to the shell may have at most %d. Upload it with ssh.upload and run the file instead.", len(*a.Script), maxScript))
	}
	if known.Has("shell") && a.Shell != nil && *a.Shell == "" {
		diags = diags.Errorf(cty.GetAttrPath("shell"), "Empty shell", `"shell" names the program that runs the script, e.g. "bash"; remove it for sh.`)
	}
	if known.Has("capture_limit") && a.CaptureLimit != nil && (*a.CaptureLimit < 0 || *a.CaptureLimit > 1<<30) {
		diags = diags.Errorf(cty.GetAttrPath("capture_limit"), "Invalid capture limit",
			fmt.Sprintf("capture_limit is a number of bytes from 0 to 1 GiB; got %d.", *a.CaptureLimit))
	}
	if known.Has("expect_exit") {
		for i, code := range a.ExpectExit {
			if code < 0 || code > 255 {
				diags = diags.Errorf(cty.GetAttrPath("expect_exit").IndexInt(i), "Invalid exit code", "Exit codes are whole numbers from 0 to 255.")
			}
		}
	}
	return diags
}

func planRun(_ context.Context, a runArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	what := "a command (known at run time)"
	if known.Has("command") && known.Has("script") && known.Has("shell") {
		what = a.describe()
	}
	if a.Sudo {
		what = "sudo " + what
	}
	return &sdk.PlanResponse{Changes: []string{"run " + what + " on " + targetName(target)}}, nil
}

func (a *runArgs) argv() []string {
	if a.Script != nil {
		shell := "sh"
		if a.Shell != nil {
			shell = *a.Shell
		}
		return []string{shell, "-c", *a.Script}
	}
	return a.Command
}

func runCommand(ctx context.Context, a runArgs, ui sdk.UI) (runOutputs, error) {
	target, err := stepTarget(ui)
	if err != nil {
		return runOutputs{}, err
	}
	limit := DefaultCaptureLimit
	if a.CaptureLimit != nil {
		limit = int(*a.CaptureLimit)
	}
	stdout, stderr := capture.New(limit), capture.New(limit)
	var uiOut, uiErr io.Writer = ui.Stdout(), ui.Stderr()
	if a.prefixed(target, ui.Info()) {
		prefix := []byte("[" + target.Name() + "] ")
		uiOut, uiErr = &prefixWriter{w: uiOut, prefix: prefix}, &prefixWriter{w: uiErr, prefix: prefix}
	}
	cmd := &sdk.Command{
		Args:   a.argv(),
		Env:    a.Env,
		Dir:    a.Dir,
		Sudo:   a.Sudo,
		Stdout: io.MultiWriter(uiOut, stdout),
		Stderr: io.MultiWriter(uiErr, stderr),
	}
	if a.Stdin != nil {
		cmd.Stdin = strings.NewReader(*a.Stdin)
	}
	res, err := target.Exec(ctx, cmd)
	if err != nil {
		return runOutputs{}, fmt.Errorf("on %s: %w", target.Name(), err)
	}
	if !expected(res.ExitCode, a.ExpectExit) {
		return runOutputs{}, exitError(target.Name(), res.ExitCode, a, stdout, stderr)
	}
	for name, c := range map[string]*capture.Buffer{"stdout": stdout, "stderr": stderr} {
		if c.Truncated() {
			ui.Logf("%s was %d bytes; the %s output keeps the first %d (capture_limit)", name, c.Total(), name, c.Kept())
		}
	}
	return runOutputs{Host: target.Name(), ExitCode: res.ExitCode, Stdout: stdout.String(), Stderr: stderr.String()}, nil
}

// prefixed says whether output lines start with [host]: on a remote
// target, unless the step's address already names the host (a step fanned
// out over a group is addressed step.x["web1"], and zrun shows that
// address on every line).
func (a *runArgs) prefixed(target sdk.Target, info sdk.RunInfo) bool {
	if a.Prefix != nil {
		return *a.Prefix
	}
	name := target.Name()
	return name != "local" && !strings.HasSuffix(info.Step, "["+strconv.Quote(name)+"]")
}

func expected(code int, want []int) bool {
	if len(want) == 0 {
		return code == 0
	}
	return slices.Contains(want, code)
}

// exitError says how the command ended and quotes the end of its stderr
// (or of its stdout when stderr is empty). A command run through sudo
// that failed before it started says how to let sudo run it.
func exitError(host string, code int, a runArgs, stdout, stderr *capture.Buffer) error {
	want := a.ExpectExit
	if len(want) == 0 {
		want = []int{0}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "command exited with code %d on %s (expected %s)", code, host, joinInts(want))
	src, name := stderr, "stderr"
	if src.Total() == 0 {
		src, name = stdout, "stdout"
	}
	tail := src.LastLines(errorLines)
	if tail != "" {
		fmt.Fprintf(&b, "; last lines of %s:\n%s", name, tail)
	}
	if a.Sudo {
		b.WriteString(sudoAdvice(host, stderr.LastLines(3)))
	}
	return errors.New(b.String())
}

// sudoAdvice says how to fix sudo when stderr ends the way sudo -n fails
// before it runs the command. It only adds advice to the error: the step
// fails on its exit code either way.
func sudoAdvice(host, stderr string) string {
	switch {
	case strings.Contains(stderr, "sudo: a password is required"), strings.Contains(stderr, "sudo: a terminal is required"):
		return fmt.Sprintf("\nsudo wanted a password: zrun runs sudo -n and never types one. Let the user run commands "+
			"without a password on %s (a NOPASSWD rule in /etc/sudoers.d/), or connect as root.", host)
	case strings.Contains(stderr, "is not in the sudoers file"), strings.Contains(stderr, "is not allowed to run sudo"):
		return fmt.Sprintf("\nsudo refused the user on %s: add a sudoers rule for it (NOPASSWD), or connect as root.", host)
	case strings.Contains(stderr, "sudo: not found"), strings.Contains(stderr, "sudo: command not found"):
		return fmt.Sprintf("\nsudo is not installed on %s: install it, or connect as root and remove sudo.", host)
	}
	return ""
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// describe renders the command for a plan: argv with the arguments that
// need it quoted, or a script's first line and its length.
func (a *runArgs) describe() string {
	argv := a.argv()
	if a.Script != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(*a.Script), "\n")
		lines := strings.Count(strings.TrimRight(*a.Script, "\n"), "\n") + 1
		return fmt.Sprintf("%s script (%s): %s", argv[0], count(lines, "line"), first)
	}
	quoted := make([]string, len(argv))
	for i, arg := range argv {
		quoted[i] = arg
		if arg == "" || strings.ContainsAny(arg, " \t\n\"'\\$`;&|<>*?()[]{}#~") {
			quoted[i] = strconv.Quote(arg)
		}
	}
	return strings.Join(quoted, " ")
}
