package docker

import (
	"context"
	"fmt"
	"math"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

// This file is docker.stop, docker.start and docker.remove: a container
// that is not there (or, for stop, not running) is not an error for stop
// and remove, only not a change; start must find the container.

type stopArgs struct {
	Socket    *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Container string  `zrun:"container" help:"The container's name or ID."`
	Timeout   *string `zrun:"stop_timeout" help:"How long to wait after SIGTERM before SIGKILL. Default: \"10s\". (Not timeout: that is the step's own meta-argument.)"`
}

type startArgs struct {
	Socket       *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Container    string  `zrun:"container" help:"The container's name or ID."`
	ReadyTimeout *string `zrun:"ready_timeout" help:"How long the container may take to pass the health gate: its Docker healthcheck if it has one, else staying up for 2s. Default: \"60s\"."`
}

type removeArgs struct {
	Socket    *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Container string  `zrun:"container" help:"The container's name or ID."`
	Force     bool    `zrun:"force,optional" help:"Remove a running container too (it is killed). Default: false, which refuses a running container."`
}

type changedOutputs struct {
	Changed bool `zrun:"changed" help:"Whether the step stopped (or removed) the container: false when it was not there (or not running)."`
}

const defaultStopWait = 10 * time.Second

func newStop() sdk.Action {
	return sdk.NewAction("stop", "Stop a container: SIGTERM, then SIGKILL after stop_timeout. A missing or stopped container is left as it is (changed = false).",
		runStop, sdk.WithValidate(validateStop), sdk.WithPlan(planStop))
}

func newStart() sdk.Action {
	return sdk.NewAction("start", "Start a stopped container (one docker.stop stopped) and wait until it passes the health gate: its Docker healthcheck, or staying up for 2s. A running one is left as it is (changed = false); a missing one is an error.",
		runStart, sdk.WithValidate(validateStart), sdk.WithPlan(planStart))
}

func newRemove() sdk.Action {
	return sdk.NewAction("remove", "Remove a container; a running one only with force. A missing container is not an error (changed = false).",
		runRemove, sdk.WithValidate(validateRemove), sdk.WithPlan(planRemove))
}

func checkContainerRef(ref string, known sdk.Known) sdk.Diagnostics {
	if known.Has("container") && ref == "" {
		return sdk.Diagnostics{}.Errorf(argPath("container"), "Empty container", `"container" is a container's name or ID.`)
	}
	return nil
}

func validateStop(_ context.Context, a stopArgs, known sdk.Known) sdk.Diagnostics {
	diags := checkContainerRef(a.Container, known)
	if known.Has("stop_timeout") && a.Timeout != nil {
		duration(&diags, "stop_timeout", *a.Timeout, true)
	}
	return diags
}

func validateStart(_ context.Context, a startArgs, known sdk.Known) sdk.Diagnostics {
	diags := checkContainerRef(a.Container, known)
	if known.Has("ready_timeout") && a.ReadyTimeout != nil {
		duration(&diags, "ready_timeout", *a.ReadyTimeout, false)
	}
	return diags
}

func validateRemove(_ context.Context, a removeArgs, known sdk.Known) sdk.Diagnostics {
	return checkContainerRef(a.Container, known)
}

func (a stopArgs) seconds() int {
	wait := defaultStopWait
	if a.Timeout != nil {
		wait, _ = time.ParseDuration(*a.Timeout)
	}
	return int(math.Ceil(wait.Seconds()))
}

// containerRef inspects the container called (or whose ID is) ref; nil
// when there is none.
func containerRef(ctx context.Context, c *client.Client, ref string) (*container.InspectResponse, error) {
	ins, err := c.ContainerInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspecting container %s: %w", ref, err)
	}
	return &ins, nil
}

// durationOr is a duration argument validation has checked, or def when
// it is not set.
func durationOr(v *string, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	d, _ := time.ParseDuration(*v)
	return d
}

func running(ins *container.InspectResponse) bool {
	return ins != nil && ins.State != nil && (ins.State.Running || ins.State.Restarting)
}

func runStop(ctx context.Context, a stopArgs, ui sdk.UI) (changedOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return changedOutputs{}, err
	}
	defer c.Close()
	ins, err := containerRef(ctx, c, a.Container)
	if err != nil || !running(ins) {
		return changedOutputs{}, err
	}
	secs := a.seconds()
	if err := c.ContainerStop(ctx, ins.ID, container.StopOptions{Timeout: &secs}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return changedOutputs{}, nil
		}
		return changedOutputs{}, fmt.Errorf("stopping container %s: %w", a.Container, err)
	}
	ui.Logf("stopped %s", a.Container)
	return changedOutputs{Changed: true}, nil
}

func runStart(ctx context.Context, a startArgs, ui sdk.UI) (changedOutputs, error) {
	timeout := durationOr(a.ReadyTimeout, defaultReadyTimeout)
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return changedOutputs{}, err
	}
	defer c.Close()
	ins, err := containerRef(ctx, c, a.Container)
	switch {
	case err != nil:
		return changedOutputs{}, err
	case ins == nil:
		return changedOutputs{}, &sdk.ArgError{Path: argPath("container"), Summary: "No such container",
			Detail: fmt.Sprintf("There is no container %s to start: docker.container creates one.", a.Container)}
	case running(ins):
		return changedOutputs{}, nil
	}
	if err := c.ContainerStart(ctx, ins.ID, container.StartOptions{}); err != nil {
		return changedOutputs{}, fmt.Errorf("starting container %s: %w", a.Container, err)
	}
	r := &readiness{c: c, target: ui.Target(), timeout: timeout, steady: gateSteady}
	if err := r.wait(ctx, ins.ID, a.Container); err != nil {
		return changedOutputs{Changed: true}, err
	}
	ui.Logf("started %s", a.Container)
	return changedOutputs{Changed: true}, nil
}

func runRemove(ctx context.Context, a removeArgs, ui sdk.UI) (changedOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return changedOutputs{}, err
	}
	defer c.Close()
	ins, err := containerRef(ctx, c, a.Container)
	if err != nil || ins == nil {
		return changedOutputs{}, err
	}
	if running(ins) && !a.Force {
		return changedOutputs{}, &sdk.ArgError{Path: argPath("force"), Summary: "Container is running",
			Detail: fmt.Sprintf("Container %s is running: stop it first (docker.stop), or set force = true to kill and remove it.", a.Container)}
	}
	if err := c.ContainerRemove(ctx, ins.ID, container.RemoveOptions{Force: a.Force}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return changedOutputs{}, nil
		}
		return changedOutputs{}, fmt.Errorf("removing container %s: %w", a.Container, err)
	}
	ui.Logf("removed %s", a.Container)
	return changedOutputs{Changed: true}, nil
}

func planStop(ctx context.Context, a stopArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return planContainerRef(ctx, a.Socket, a.Container, known, target, "stop", func(ins *container.InspectResponse) (string, bool) {
		if !running(ins) {
			return a.Container + " is not running", true
		}
		return "stop " + a.Container, false
	})
}

func planStart(ctx context.Context, a startArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return planContainerRef(ctx, a.Socket, a.Container, known, target, "start", func(ins *container.InspectResponse) (string, bool) {
		if running(ins) {
			return a.Container + " is running", true
		}
		return "start " + a.Container, false
	})
}

func planRemove(ctx context.Context, a removeArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return planContainerRef(ctx, a.Socket, a.Container, known, target, "remove", func(ins *container.InspectResponse) (string, bool) {
		if running(ins) && !a.Force {
			return "remove " + a.Container + " (running: refused without force)", false
		}
		return "remove " + a.Container, false
	})
}

// planContainerRef plans a verb on one container: what says what would
// happen to it when it exists.
func planContainerRef(ctx context.Context, socket *string, ref string, known sdk.Known, target sdk.Target, verb string, what func(*container.InspectResponse) (string, bool)) (*sdk.PlanResponse, error) {
	if target == nil || !known.Has("container") || !known.Has("socket") {
		return changes(verb + " " + ref), nil
	}
	c, err := connect(ctx, target, socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ins, err := containerRef(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	if ins == nil {
		return &sdk.PlanResponse{Changes: []string{ref + " does not exist"}, NoOp: true}, nil
	}
	line, noop := what(ins)
	return &sdk.PlanResponse{Changes: []string{line}, NoOp: noop}, nil
}
