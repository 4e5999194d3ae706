package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// DefaultLogsTail is how many lines docker.logs shows unless told.
const DefaultLogsTail = 100

type logsArgs struct {
	Container string   `zrun:"container" help:"The container's name or ID (running or not)."`
	Tail      *float64 `zrun:"tail" help:"How many of the last lines to show; -1 for all. Default: 100."`
	Since     *string  `zrun:"since" help:"Only lines from this long ago on, a duration such as \"10m\"."`
	Socket    *string  `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type logsOutputs struct {
	Lines int `zrun:"lines" help:"How many lines were shown (stdout and stderr together)."`
}

func newLogs() sdk.Action {
	return sdk.NewAction("logs",
		"Show the last lines a container on the target's engine logged, on the step's stdout and stderr.",
		runLogs, sdk.WithValidate(validateLogs), sdk.WithPlan(planLogs))
}

func (a *logsArgs) tail() int {
	if a.Tail == nil {
		return DefaultLogsTail
	}
	return int(*a.Tail)
}

func validateLogs(_ context.Context, a logsArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("container") && a.Container == "" {
		diags = diags.Errorf(cty.GetAttrPath("container"), "Empty container", `"container" names a container, e.g. "gateway".`)
	}
	if known.Has("tail") && a.Tail != nil && !wholeNumber(*a.Tail, -1, 1e9) {
		diags = diags.Errorf(cty.GetAttrPath("tail"), "Invalid tail", fmt.Sprintf("tail is a whole number of lines, 0 or more (-1 for all); got %g.", *a.Tail))
	}
	if known.Has("since") && a.Since != nil {
		if d, err := time.ParseDuration(*a.Since); err != nil || d <= 0 {
			diags = diags.Errorf(cty.GetAttrPath("since"), "Invalid duration",
				fmt.Sprintf("since is a positive duration such as \"30s\", \"10m\" or \"2h\"; got %q.", *a.Since))
		}
	}
	return diags
}

func planLogs(_ context.Context, a logsArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	what := "the last " + strconv.Itoa(a.tail()) + " log lines"
	if a.tail() < 0 {
		what = "the log"
	}
	name := a.Container
	if !known.Has("container") {
		name = "a container (known at run time)"
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("show %s of %s on %s", what, name, planTarget(target))}, NoOp: true}, nil
}

func runLogs(ctx context.Context, a logsArgs, ui sdk.UI) (logsOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return logsOutputs{}, err
	}
	defer c.Close()
	ins, err := c.ContainerInspect(ctx, a.Container)
	if err != nil {
		return logsOutputs{}, containerCallError(err, a.Container)
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "all"}
	if a.tail() >= 0 {
		opts.Tail = strconv.Itoa(a.tail())
	}
	if a.Since != nil {
		d, _ := time.ParseDuration(*a.Since) // validated
		since := time.Now().Add(-d)
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	body, err := c.ContainerLogs(ctx, ins.ID, opts)
	if err != nil {
		return logsOutputs{}, containerCallError(err, a.Container)
	}
	defer body.Close()
	stdout, stderr := &lineCounter{w: ui.Stdout()}, &lineCounter{w: ui.Stderr()}
	if ins.Config != nil && ins.Config.Tty {
		// A terminal's output is one stream, not multiplexed.
		_, err = io.Copy(stdout, body)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, body)
	}
	if err != nil {
		return logsOutputs{}, fmt.Errorf("logs of %s: %w", a.Container, err)
	}
	return logsOutputs{Lines: stdout.lines() + stderr.lines()}, nil
}

// lineCounter counts the lines it passes on, a last one without a line
// end included.
type lineCounter struct {
	w       io.Writer
	ends    int
	partial bool
}

func (l *lineCounter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.ends += bytes.Count(p, []byte{'\n'})
		l.partial = p[len(p)-1] != '\n'
	}
	return l.w.Write(p)
}

func (l *lineCounter) lines() int {
	if l.partial {
		return l.ends + 1
	}
	return l.ends
}
