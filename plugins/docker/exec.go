package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/capture"
)

// execCaptureLimit is how many bytes of stdout (and of stderr) docker.exec
// keeps in its outputs, as exec.run does by default.
const execCaptureLimit = 1 << 20

// execErrorLines is how many lines of output a failed exec's error quotes.
const execErrorLines = 10

type execArgs struct {
	Container  string            `zrun:"container" help:"The running container's name or ID."`
	Command    []string          `zrun:"command" help:"The program and its arguments, run in the container without a shell, e.g. [\"sh\", \"-c\", \"...\"]."`
	Env        map[string]string `zrun:"env,optional" help:"Environment variables, added to the container's."`
	User       string            `zrun:"user,optional" help:"The user (name or UID[:GID]) to run it as; the container's user when unset."`
	WorkingDir string            `zrun:"working_dir,optional" help:"The folder to run it in; the container's working directory when unset."`
	ExpectExit []float64         `zrun:"expect_exit,optional" help:"Exit codes that count as success. Default: [0]."`
	Socket     *string           `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type execOutputs struct {
	ExitCode int    `zrun:"exit_code" help:"The command's exit code."`
	Stdout   string `zrun:"stdout" help:"Its standard output (the first 1 MiB), without one trailing newline."`
	Stderr   string `zrun:"stderr" help:"Its standard error (the first 1 MiB), without one trailing newline."`
}

func newExec() sdk.Action {
	return sdk.NewAction("exec",
		"Run a command in a running container on the target's engine, streaming its output. Fails unless the exit code is one of expect_exit.",
		runExec, sdk.WithValidate(validateExec), sdk.WithPlan(planExec))
}

func validateExec(_ context.Context, a execArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("container") && a.Container == "" {
		diags = diags.Errorf(cty.GetAttrPath("container"), "Empty container", `"container" names a running container, e.g. "gateway".`)
	}
	if known.Has("command") {
		switch {
		case len(a.Command) == 0:
			diags = diags.Errorf(cty.GetAttrPath("command"), "Empty command", `"command" needs at least the program to run, e.g. ["nginx", "-s", "reload"].`)
		case a.Command[0] == "":
			diags = diags.Errorf(cty.GetAttrPath("command").IndexInt(0), "Empty program name", `The first element of "command" names the program to run.`)
		}
	}
	if known.Has("env") {
		for k := range a.Env {
			if k == "" || strings.Contains(k, "=") {
				diags = diags.Errorf(cty.GetAttrPath("env").Index(cty.StringVal(k)), "Invalid variable name",
					"An environment variable's name is not empty and has no \"=\".")
			}
		}
	}
	if known.Has("expect_exit") {
		for i, code := range a.ExpectExit {
			if !wholeNumber(code, 0, 255) {
				diags = diags.Errorf(cty.GetAttrPath("expect_exit").IndexInt(i), "Invalid exit code", "Exit codes are whole numbers from 0 to 255.")
			}
		}
	}
	return diags
}

// planExec is "exec nginx -s reload in gateway on web1"; the environment
// is not shown.
func planExec(_ context.Context, a execArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	what, in := "a command (known at run time)", "a container (known at run time)"
	if known.Has("command") {
		what = strings.Join(a.Command, " ")
	}
	if known.Has("container") {
		in = a.Container
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("exec %s in %s on %s", what, in, planTarget(target))}}, nil
}

func runExec(ctx context.Context, a execArgs, ui sdk.UI) (execOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return execOutputs{}, err
	}
	defer c.Close()
	created, err := c.ContainerExecCreate(ctx, a.Container, container.ExecOptions{
		Cmd: a.Command, Env: execEnvList(a.Env), User: a.User, WorkingDir: a.WorkingDir,
		AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return execOutputs{}, containerCallError(err, a.Container)
	}
	att, err := c.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return execOutputs{}, fmt.Errorf("exec in %s: %w", a.Container, err)
	}
	defer att.Close()
	// The hijacked connection does not watch ctx once it is open.
	defer context.AfterFunc(ctx, att.Close)()

	stdout, stderr := capture.New(execCaptureLimit), capture.New(execCaptureLimit)
	_, err = stdcopy.StdCopy(io.MultiWriter(stdout, ui.Stdout()), io.MultiWriter(stderr, ui.Stderr()), att.Reader)
	if ctx.Err() != nil {
		msg := fmt.Sprintf("exec in %s stopped: %v", a.Container, context.Cause(ctx))
		if err := stopExec(c, ui.Target(), created.ID); err != nil {
			msg += fmt.Sprintf(" (the command may still run in the container: %v)", err)
		}
		return execOutputs{}, errors.New(msg)
	}
	if err != nil {
		return execOutputs{}, fmt.Errorf("exec in %s: reading its output: %w", a.Container, err)
	}
	code, err := execExitCode(ctx, c, created.ID)
	if err != nil {
		return execOutputs{}, fmt.Errorf("exec in %s: %w", a.Container, err)
	}
	want := []int{0}
	if len(a.ExpectExit) > 0 {
		want = make([]int, len(a.ExpectExit))
		for i, code := range a.ExpectExit {
			want[i] = int(code) // validated
		}
	}
	if !slices.Contains(want, code) {
		return execOutputs{}, execExitError(code, want, stdout, stderr)
	}
	return execOutputs{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}, nil
}

// execStopGrace is how long a cancelled exec's command has after SIGTERM
// before SIGKILL.
const execStopGrace = 5 * time.Second

// stopExec ends the command of an exec whose step was cancelled. Docker
// has no call for that, so its process, which the engine reports by its
// process ID on the engine's machine, is signalled there through the
// target: SIGTERM, then SIGKILL after execStopGrace. (Processes it
// started in the container are its to end.) It returns why the command
// may still run, or nil once the engine reports it ended.
func stopExec(c *client.Client, target sdk.Target, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), execStopGrace+10*time.Second)
	defer cancel()
	ended := func(within time.Duration) (bool, error) {
		_, done, err := waitExec(ctx, c, id, within)
		return done, err
	}
	ins, done, err := waitExec(ctx, c, id, 0)
	if done || err != nil {
		return err
	}
	if ins.Pid <= 0 {
		return errors.New("the engine reports no process for it")
	}
	if target == nil {
		return errors.New("no target to signal it on")
	}
	for _, sig := range []string{"TERM", "KILL"} {
		var out strings.Builder
		res, err := target.Exec(ctx, &sdk.Command{Args: []string{"kill", "-" + sig, strconv.Itoa(ins.Pid)}, Stdout: &out, Stderr: &out})
		switch {
		case err != nil:
			return fmt.Errorf("signalling its process %d on %s: %w", ins.Pid, target.Name(), err)
		case res.ExitCode != 0:
			if done, _ := ended(0); done {
				return nil // it ended just before
			}
			return fmt.Errorf("kill -%s %d on %s: %s", sig, ins.Pid, target.Name(), strings.TrimSpace(out.String()))
		}
		if done, err := ended(execStopGrace); done || err != nil {
			return err
		}
	}
	return errors.New("it still runs after SIGKILL")
}

// execExitCode waits for the engine to record the exec's end (its output
// ends a moment before) and returns its exit code.
func execExitCode(ctx context.Context, c *client.Client, id string) (int, error) {
	ins, done, err := waitExec(ctx, c, id, 10*time.Second)
	if err == nil && !done {
		err = errors.New("its output ended but the engine still reports it running")
	}
	return ins.ExitCode, err
}

// waitExec inspects the exec until the engine reports it ended (done), at
// most within (0: once), or ctx ends.
func waitExec(ctx context.Context, c *client.Client, id string, within time.Duration) (ins container.ExecInspect, done bool, err error) {
	deadline := time.Now().Add(within)
	for {
		if ins, err = c.ContainerExecInspect(ctx, id); err != nil || !ins.Running {
			return ins, err == nil, err
		}
		if !time.Now().Before(deadline) {
			return ins, false, nil
		}
		select {
		case <-ctx.Done():
			return ins, false, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// containerCallError names the container a call failed on: a missing one is
// an error pointing at the container argument.
func containerCallError(err error, name string) error {
	if cerrdefs.IsNotFound(err) {
		return &sdk.ArgError{Path: cty.GetAttrPath("container"), Summary: "No such container",
			Detail: fmt.Sprintf("The engine has no container %q.", name)}
	}
	return fmt.Errorf("container %s: %w", name, err)
}

// execEnvList is env as Docker takes it: K=V, sorted.
func execEnvList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// execExitError says how the command ended and quotes the end of its
// stderr (or of its stdout when stderr is empty).
func execExitError(code int, want []int, stdout, stderr *capture.Buffer) error {
	codes := make([]string, len(want))
	for i, w := range want {
		codes[i] = strconv.Itoa(w)
	}
	msg := fmt.Sprintf("command exited with code %d (expected %s)", code, strings.Join(codes, ", "))
	src, name := stderr, "stderr"
	if src.Total() == 0 {
		src, name = stdout, "stdout"
	}
	if tail := src.LastLines(execErrorLines); tail != "" {
		msg += "; last lines of " + name + ":\n" + tail
	}
	return errors.New(msg)
}
