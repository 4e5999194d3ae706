package docker

import (
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/zrun-dev/zrun/sdk"
)

// This file is the handover (docs/docker-plugin.md, "Zero-downtime
// handover"): docker.container with handover = true swaps the new
// container in under NAME and leaves the old one serving as NAME--zrun-old;
// a proxy then moves the traffic from the old address to the new one, and
// docker.retire retires the old container (kept for docker.rollback, as a
// plain replacement keeps it), or docker.reinstate puts it back when the
// move failed. A run killed in between converges: the next docker.container
// of the same spec finds NAME--zrun-old beside NAME and leaves it serving
// again (settle), so the workflow's proxy and retire steps finish the job.

// handOver ends a swap with handover: the old container (called oldName
// by now) keeps running.
func (d *deployment) handOver(ctx context.Context, oldID, newID, oldName, oldImage string) (containerOutputs, error) {
	old, err := d.c.ContainerInspect(ctx, oldID)
	if err != nil {
		return containerOutputs{}, fmt.Errorf("inspecting the old container %s: %w", oldName, err)
	}
	d.serving = &old
	d.ui.Logf("%s serves; the old container still serves as %s until docker.retire", d.name(), oldName)
	return d.outputsOf(ctx, newID, d.action, oldImage)
}

// published is where the container's published ports listen on the
// target, by container port ("8080/tcp" -> "127.0.0.1:49153"), and the
// first of them (by port number) as its address. A port bound to every
// address is given at the loopback address of its family.
func published(ins *container.InspectResponse) (string, map[string]string) {
	if ins == nil || ins.NetworkSettings == nil || len(ins.NetworkSettings.Ports) == 0 {
		return "", map[string]string{}
	}
	ports := map[string]string{}
	var keys []nat.Port
	for p, bs := range ins.NetworkSettings.Ports {
		for _, b := range bs {
			if b.HostPort == "" {
				continue
			}
			ip := b.HostIP
			switch ip {
			case "", "0.0.0.0":
				ip = "127.0.0.1"
			case "::":
				ip = "::1"
			}
			if _, ok := ports[string(p)]; !ok {
				ports[string(p)] = net.JoinHostPort(ip, b.HostPort)
				keys = append(keys, p)
			}
		}
	}
	if len(keys) == 0 {
		return "", ports
	}
	slices.SortFunc(keys, func(a, b nat.Port) int {
		if c := a.Int() - b.Int(); c != 0 {
			return c
		}
		return cmpString(a.Proto(), b.Proto())
	})
	return ports[string(keys[0])], ports
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type retireArgs struct {
	Socket       *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Name         string  `zrun:"name" help:"The container's name (docker.container's name): its old container NAME--zrun-old, left serving by a handover, is retired."`
	Drain        *string `zrun:"drain" help:"How long to wait before stopping the old container, for the requests the proxy still sends it to end (nginx's old workers finish theirs after a reload). Default: \"2s\"."`
	KeepReleases *int    `zrun:"keep_releases" help:"How many replaced containers of this name are kept, stopped, for docker.rollback; as docker.container's. Default: 3."`
}

type retireOutputs struct {
	Changed bool   `zrun:"changed" help:"Whether a handover's old container was there and was retired."`
	Retired string `zrun:"retired" help:"The ID of the container retired; \"\" if none."`
	Kept    string `zrun:"kept" help:"The name it is kept under for docker.rollback; \"\" when keep_releases is 0 or none was retired."`
}

type reinstateArgs struct {
	Socket       *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Name         string  `zrun:"name" help:"The container's name: the new container NAME is removed and the old one, NAME--zrun-old, takes its name back."`
	ReadyTimeout *string `zrun:"ready_timeout" help:"How long the old container may take to be ready again if it had stopped. Default: \"60s\"."`
}

const defaultDrain = 2 * time.Second

func newRetire() sdk.Action {
	return sdk.NewAction("retire",
		"Finish a handover: after drain, stop the old container a docker.container with handover = true left serving (NAME--zrun-old) and keep it for docker.rollback. Nothing to retire is not an error (changed = false).",
		runRetire, sdk.WithValidate(validateRetire), sdk.WithPlan(planRetire))
}

func newReinstate() sdk.Action {
	return sdk.NewAction("reinstate",
		"Undo a handover whose proxy move failed: remove the new container NAME and give the old one, still serving as NAME--zrun-old, its name back. Nothing to undo is not an error (changed = false).",
		runReinstate, sdk.WithValidate(validateReinstate), sdk.WithPlan(planReinstate))
}

func validateRetire(_ context.Context, a retireArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("name") {
		diags = append(diags, checkContainerName("name", a.Name)...)
	}
	if known.Has("drain") && a.Drain != nil {
		duration(&diags, "drain", *a.Drain, true)
	}
	if known.Has("keep_releases") && a.KeepReleases != nil && *a.KeepReleases < 0 {
		diags = diags.Errorf(argPath("keep_releases"), "Invalid keep_releases",
			fmt.Sprintf("keep_releases is how many replaced containers of this name are kept for docker.rollback: 0 (none) or more; got %d.", *a.KeepReleases))
	}
	return diags
}

func validateReinstate(_ context.Context, a reinstateArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("name") {
		diags = append(diags, checkContainerName("name", a.Name)...)
	}
	if known.Has("ready_timeout") && a.ReadyTimeout != nil {
		duration(&diags, "ready_timeout", *a.ReadyTimeout, false)
	}
	return diags
}

func planRetire(_ context.Context, a retireArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("name") {
		return &sdk.PlanResponse{Changes: []string{"retire the old container a handover left serving (name known at run time)"}}, nil
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("retire %s%s if a handover left it serving, keeping it for docker.rollback", a.Name, oldSuffix)}}, nil
}

func planReinstate(_ context.Context, a reinstateArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("name") {
		return &sdk.PlanResponse{Changes: []string{"put back the old container a handover left serving (name known at run time)"}}, nil
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("if a handover left %s%s serving: remove the new %s and rename the old one back", a.Name, oldSuffix, a.Name)}}, nil
}

// handoverPair is NAME and NAME--zrun-old on the engine, for retire and
// reinstate: old is nil when no handover is pending.
func handoverPair(ctx context.Context, d *deployment) (cur, old *container.InspectResponse, err error) {
	if old, err = d.leftover(ctx, d.name()+oldSuffix); err != nil || old == nil {
		return nil, nil, err
	}
	if cur, err = containerByName(ctx, d.c, d.name()); err != nil {
		return nil, nil, err
	}
	if cur != nil && !managed(cur) {
		return nil, nil, notManagedError(d.name())
	}
	return cur, old, nil
}

func runRetire(ctx context.Context, a retireArgs, ui sdk.UI) (retireOutputs, error) {
	drain := durationOr(a.Drain, defaultDrain)
	keep := defaultKeepReleases
	if a.KeepReleases != nil {
		keep = *a.KeepReleases
	}
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return retireOutputs{}, err
	}
	defer c.Close()
	d := &deployment{c: c, ui: ui, want: &desired{spec: spec{Name: a.Name}, keepReleases: keep}}
	cur, old, err := handoverPair(ctx, d)
	if err != nil || old == nil {
		return retireOutputs{}, err
	}
	oldName := a.Name + oldSuffix
	if cur == nil || !running(cur) {
		return retireOutputs{}, fmt.Errorf("%s is not running, so %s, which still serves, is not retired: run the docker.container step again (it puts %s back, or finishes the replacement)", a.Name, oldName, oldName)
	}
	if drain > 0 {
		ui.Logf("draining %s for %s", oldName, drain)
		select {
		case <-time.After(drain):
		case <-ctx.Done():
			return retireOutputs{}, fmt.Errorf("draining %s: %w (it still serves)", oldName, context.Cause(ctx))
		}
	}
	if err := d.retire(ctx, old.ID, oldName); err != nil {
		return retireOutputs{}, err
	}
	out := retireOutputs{Changed: true, Retired: old.ID}
	if keep > 0 {
		out.Kept = keepName(a.Name, old.ID)
	}
	return out, nil
}

func runReinstate(ctx context.Context, a reinstateArgs, ui sdk.UI) (changedOutputs, error) {
	timeout := durationOr(a.ReadyTimeout, defaultReadyTimeout)
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return changedOutputs{}, err
	}
	defer c.Close()
	d := &deployment{c: c, ui: ui, want: &desired{spec: spec{Name: a.Name}, readyTimeout: timeout}}
	r := &readiness{c: c, target: ui.Target(), network: d.want.firstNetwork(), timeout: timeout, steady: gateSteady}
	d.gateOld = r.wait
	cur, old, err := handoverPair(ctx, d)
	if err != nil || old == nil {
		return changedOutputs{}, err
	}
	if cur != nil {
		ui.Logf("removing %s (%s): the handover to it is undone", a.Name, shortID(cur.ID))
		d.remove(ctx, cur.ID, a.Name, true)
	}
	ui.Logf("renaming %s back to %s", old.Name[1:], a.Name)
	if _, _, err := d.putBack(ctx, old, !running(old)); err != nil {
		return changedOutputs{}, err
	}
	return changedOutputs{Changed: true}, nil
}
