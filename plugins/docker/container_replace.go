package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// This file is docker.container's replacement procedure
// (docs/docker-plugin.md, "Replacement"): the old container serves until
// the new one has passed the health gate, and every state a kill -9 can
// leave converges on the next run. The old one is then kept, stopped, for
// docker.rollback ("Releases and rollback"), which swaps a kept container
// back in through the same steps.

// settle puts right what an interrupted run left (step 1), before the
// container is compared with the spec, and returns the container called
// NAME then (nil if none). prev is the image ID of the container it
// retired when it could finish the interrupted run's replacement itself:
// the step then replaced it.
//
//   - A candidate NAME--zrun-next is removed: it was never proven.
//   - NAME--zrun-old without NAME is renamed back to NAME.
//   - NAME--zrun-old beside NAME: the run had made NAME and not yet
//     retired the old one. A NAME of the spec wanted is gated (and given
//     its aliases) and the old one retired, or, if it fails, removed and
//     the old one put back; a NAME of another spec (it passed its gate:
//     a replacement's, or the kept container a rollback swapped in) is
//     kept (removed with keep_releases = 0) and the old one put back, to
//     be replaced anew.
//
// Kept containers (NAME--zrun-kept-...) are no leftovers: settle never
// looks at them, nor does the plan.
func (d *deployment) settle(ctx context.Context) (cur *container.InspectResponse, prev string, err error) {
	name := d.name()
	next, err := d.leftover(ctx, name+candidateSuffix)
	if err != nil {
		return nil, "", err
	}
	if next != nil {
		d.ui.Logf("removing %s, the unproven candidate of an interrupted run", next.Name[1:])
		if err := d.c.ContainerRemove(ctx, next.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			return nil, "", fmt.Errorf("removing %s, left by an interrupted run: %w", next.Name[1:], err)
		}
	}
	old, err := d.leftover(ctx, name+oldSuffix)
	if err != nil {
		return nil, "", err
	}
	if cur, err = containerByName(ctx, d.c, name); err != nil || old == nil {
		return cur, "", err
	}
	switch {
	case cur == nil:
		d.ui.Logf("renaming %s back to %s: an interrupted run had swapped it out", old.Name[1:], name)
		return d.putBack(ctx, old, false)
	case !managed(cur):
		return nil, "", notManagedError(name)
	case cur.Config.Labels[labelSpec] != d.hash:
		// It passed its health gate (a replacement's new container, or
		// the kept one a rollback swapped in): kept, not removed, so that
		// no release is lost to a kill.
		if d.want.keepReleases == 0 {
			d.ui.Logf("removing %s, made by an interrupted run of another spec, and putting %s back", name, old.Name[1:])
			d.remove(ctx, cur.ID, name, true)
		} else {
			kept, err := d.keep(ctx, cur.ID)
			if err != nil {
				return nil, "", fmt.Errorf("keeping %s, made by an interrupted run of another spec: %w", name, err)
			}
			d.ui.Logf("kept %s, made by an interrupted run of another spec, as %s; putting %s back", name, kept, old.Name[1:])
		}
		return d.putBack(ctx, old, false)
	}
	d.ui.Logf("finishing the replacement an interrupted run had begun: checking %s before keeping %s", name, old.Name[1:])
	if cur.State == nil || !cur.State.Running {
		if err := d.c.ContainerStart(ctx, cur.ID, container.StartOptions{}); err != nil {
			return nil, "", fmt.Errorf("starting container %s: %w", name, err)
		}
	}
	if err := d.gate(ctx, cur.ID, name); err != nil {
		d.remove(ctx, cur.ID, name, true)
		if _, _, perr := d.putBack(ctx, old, true); perr != nil {
			return nil, "", fmt.Errorf("the container an interrupted run made failed its health gate and was removed: %w; and putting the previous one back failed: %v", err, perr)
		}
		return nil, "", fmt.Errorf("the container an interrupted run made failed its health gate and was removed; the previous one is back as %s: %w", name, err)
	}
	if err := d.joinNetworks(ctx, cur.ID); err != nil {
		return nil, "", err
	}
	if d.want.handover {
		d.ui.Logf("%s still serves beside %s: docker.retire retires it once the proxy has moved", old.Name[1:], name)
		d.serving = old
	} else if err := d.retire(ctx, old.ID, old.Name[1:]); err != nil {
		return nil, "", err
	}
	cur, err = containerByName(ctx, d.c, name)
	if err == nil && cur == nil {
		err = errors.New("container " + name + " vanished while zrun settled it")
	}
	return cur, old.Image, err
}

// leftover is the container called name that a replacement made, nil if
// there is none; one zrun did not make is an error (it is not touched).
func (d *deployment) leftover(ctx context.Context, name string) (*container.InspectResponse, error) {
	ins, err := containerByName(ctx, d.c, name)
	if err != nil || ins == nil {
		return nil, err
	}
	if !managed(ins) {
		return nil, fmt.Errorf("container %s exists and was not made by zrun (no %s=true label), but zrun names its own containers so while it replaces %s: remove or rename it", name, labelManaged, d.name())
	}
	return ins, nil
}

// putBack renames the old container back to NAME, after ctx has ended
// too, and returns it as settle does. With start, it starts it and waits
// until it is ready again.
func (d *deployment) putBack(ctx context.Context, old *container.InspectResponse, start bool) (*container.InspectResponse, string, error) {
	pctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := d.c.ContainerRename(pctx, old.ID, d.name()); err != nil {
		return nil, "", fmt.Errorf("renaming %s back to %s: %w", old.Name[1:], d.name(), err)
	}
	if start {
		if err := d.c.ContainerStart(pctx, old.ID, container.StartOptions{}); err != nil {
			return nil, "", fmt.Errorf("starting %s again: %w", d.name(), err)
		}
	}
	ins, err := d.c.ContainerInspect(pctx, old.ID)
	if err != nil {
		return nil, "", fmt.Errorf("inspecting container %s: %w", d.name(), err)
	}
	if start {
		// The gate bounds itself (ready_timeout), also after ctx ended.
		if err := d.gateOld(context.WithoutCancel(ctx), old.ID, d.name()); err != nil {
			return nil, "", fmt.Errorf("%s is back but not ready: %w", d.name(), err)
		}
	}
	return &ins, "", nil
}

// replace replaces cur with a container of the spec (steps 2 to 5): a
// candidate is started beside it and gated before cur is touched.
func (d *deployment) replace(ctx context.Context, cur *container.InspectResponse) (containerOutputs, error) {
	name, candName := d.name(), d.name()+candidateSuffix
	d.ui.Logf("replacing %s: its spec changed; starting %s beside it", name, candName)
	cand, err := d.createStarted(ctx, candName, true)
	if err != nil {
		return containerOutputs{}, fmt.Errorf("%w (%s was not touched)", err, name)
	}
	if err := d.gate(ctx, cand, candName); err != nil {
		d.remove(ctx, cand, candName, true)
		return containerOutputs{}, fmt.Errorf("the new container failed its health gate and was removed; %s was not touched: %w", name, err)
	}
	if d.want.publishes() {
		d.remove(ctx, cand, candName, true)
		d.ui.Logf("the candidate passed; stopping %s to free its host ports", name)
		return d.holdingPorts(ctx, cur, func(ctx context.Context) (string, error) {
			return d.createStarted(ctx, name, false)
		})
	}
	return d.swap(ctx, cur, cand, candName)
}

// swap is step 4: the proven candidate (called candName) takes the old
// container's name and aliases while the old one still serves, and only
// then is the old one stopped and retired. (The contract stops the old
// one before the candidate gets its aliases; stopping it after leaves no
// moment without a container answering to them.)
func (d *deployment) swap(ctx context.Context, cur *container.InspectResponse, cand, candName string) (containerOutputs, error) {
	name, oldName := d.name(), d.name()+oldSuffix
	if err := d.c.ContainerRename(ctx, cur.ID, oldName); err != nil {
		return containerOutputs{}, fmt.Errorf("renaming %s to %s: %w (%s; %s still serves)", name, oldName, err, d.discard(ctx, cand, candName), name)
	}
	if err := d.c.ContainerRename(ctx, cand, name); err != nil {
		dropped := d.discard(ctx, cand, candName)
		_, _, perr := d.putBack(ctx, cur, false)
		return containerOutputs{}, fmt.Errorf("renaming %s to %s: %w (%s; putting the old one back: %v)", candName, name, err, dropped, perr)
	}
	if err := d.joinNetworks(ctx, cand); err != nil {
		return containerOutputs{}, fmt.Errorf("%w; %s is the new container and the old one is kept as %s: the next run finishes the swap", err, name, oldName)
	}
	if d.want.handover {
		return d.handOver(ctx, cur.ID, cand, oldName, cur.Image)
	}
	if err := d.retire(ctx, cur.ID, oldName); err != nil {
		return containerOutputs{}, err
	}
	return d.outputsOf(ctx, cand, d.action, cur.Image)
}

// holdingPorts is step 5, for a spec that publishes host ports, which the
// old container holds: the old one is stopped, bringIn makes a container
// called NAME with the ports and starts it (removing or keeping again what
// it made if it fails), that one is gated, and the old one comes back if
// it fails.
func (d *deployment) holdingPorts(ctx context.Context, cur *container.InspectResponse, bringIn func(context.Context) (string, error)) (containerOutputs, error) {
	name, oldName := d.name(), d.name()+oldSuffix
	if err := d.c.ContainerRename(ctx, cur.ID, oldName); err != nil {
		return containerOutputs{}, fmt.Errorf("renaming %s to %s: %w (%s still serves)", name, oldName, err, name)
	}
	wasRunning := cur.State != nil && cur.State.Running
	back := func(err error) (containerOutputs, error) {
		if _, _, perr := d.putBack(ctx, cur, wasRunning); perr != nil {
			return containerOutputs{}, fmt.Errorf("%w; and putting the old container back failed: %v", err, perr)
		}
		return containerOutputs{}, fmt.Errorf("%w; the old container is back as %s", err, name)
	}
	if err := d.c.ContainerStop(ctx, cur.ID, container.StopOptions{}); err != nil {
		return back(fmt.Errorf("stopping %s: %w", oldName, err))
	}
	id, err := bringIn(ctx)
	if err != nil {
		return back(err)
	}
	if err := d.gate(ctx, id, name); err != nil {
		dropped := d.discard(ctx, id, name)
		return back(fmt.Errorf("%s, with its host ports, failed its health gate (%s): %w", name, dropped, err))
	}
	if err := d.retire(ctx, cur.ID, oldName); err != nil {
		return containerOutputs{}, err
	}
	return d.outputsOf(ctx, id, d.action, cur.Image)
}

// joinNetworks connects the container to each network of the spec with
// its aliases: one it is on without them (a candidate) is left and joined
// again, since Docker adds no alias to an endpoint.
func (d *deployment) joinNetworks(ctx context.Context, id string) error {
	ins, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspecting container %s: %w", d.name(), err)
	}
	for _, net := range d.want.networkNames() {
		aliases := d.want.spec.Networks[net]
		var ep *network.EndpointSettings
		if ins.NetworkSettings != nil {
			ep = ins.NetworkSettings.Networks[net]
		}
		if ep != nil && !slices.ContainsFunc(aliases, func(a string) bool { return !slices.Contains(ep.Aliases, a) }) {
			continue
		}
		if ep != nil {
			if err := d.c.NetworkDisconnect(ctx, net, id, false); err != nil {
				return fmt.Errorf("disconnecting %s from network %s to give it its aliases: %w", d.name(), net, err)
			}
		}
		if err := d.c.NetworkConnect(ctx, net, id, &network.EndpointSettings{Aliases: aliases}); err != nil {
			return fmt.Errorf("connecting %s to network %s with its aliases: %w", d.name(), net, err)
		}
	}
	return nil
}

// retire takes the old container, called name by now, out of service
// once its successor serves: it is kept for docker.rollback (see keep),
// or, with keep_releases = 0, stopped and removed; then the kept
// containers of NAME beyond keep_releases are removed.
func (d *deployment) retire(ctx context.Context, id, name string) error {
	if d.want.keepReleases == 0 {
		if err := d.c.ContainerStop(ctx, id, container.StopOptions{}); err != nil {
			return fmt.Errorf("stopping the old container %s: %w (the new one serves; the next run removes it)", name, err)
		}
		if err := d.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
			return fmt.Errorf("removing the old container %s: %w (the new one serves; the next run removes it)", name, err)
		}
		d.ui.Logf("removed the old container (%s): keep_releases is 0", shortID(id))
	} else {
		kept, err := d.keep(ctx, id)
		if err != nil {
			return fmt.Errorf("keeping the old container %s: %w (the new one serves; the next run keeps it)", name, err)
		}
		d.ui.Logf("kept the old container as %s, stopped", kept)
	}
	d.pruneKept(ctx)
	return nil
}

// keepAll is the keepReleases of docker.rollback: it prunes no kept
// container (it does not know keep_releases, and a rollback keeps one
// container for the one it starts).
const keepAll = -1

// keepName is the name of NAME's kept container id.
func keepName(name, id string) string { return name + keptSuffix + shortID(id) }

// keep makes the container id a kept container of NAME, in an order that
// leaves it renamed last (a container under a kept name is wholly kept):
// stopped (within its own stop timeout), its restart policy "no" (so that
// no daemon restart brings it back), disconnected from every network (no
// DNS name or address while it waits), and renamed
// NAME--zrun-kept-<12 hex of its ID>. Its spec stays in its zrun.spec.json
// label, its environment in Docker, which docker.rollback restores. It
// returns the kept name.
func (d *deployment) keep(ctx context.Context, id string) (string, error) {
	kept := keepName(d.name(), id)
	if err := d.c.ContainerStop(ctx, id, container.StopOptions{}); err != nil {
		return "", fmt.Errorf("stopping it: %w", err)
	}
	if _, err := d.c.ContainerUpdate(ctx, id, container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled}}); err != nil {
		return "", fmt.Errorf("setting its restart policy to \"no\": %w", err)
	}
	ins, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("inspecting it: %w", err)
	}
	if ins.NetworkSettings != nil {
		for net := range ins.NetworkSettings.Networks {
			if err := d.c.NetworkDisconnect(ctx, net, id, false); err != nil {
				return "", fmt.Errorf("disconnecting it from network %s: %w", net, err)
			}
		}
	}
	if strings.TrimPrefix(ins.Name, "/") != kept {
		if err := d.c.ContainerRename(ctx, id, kept); err != nil {
			return "", fmt.Errorf("renaming it to %s: %w", kept, err)
		}
	}
	return kept, nil
}

// pruneKept removes NAME's kept containers beyond the newest
// keep_releases. A failure is logged: the replacement it follows has
// succeeded, and the next one prunes again.
func (d *deployment) pruneKept(ctx context.Context) {
	if d.want.keepReleases < 0 {
		return
	}
	kept, err := keptContainers(ctx, d.c, d.name())
	if err != nil {
		d.ui.Logf("listing the kept containers of %s to remove those beyond keep_releases: %s", d.name(), err)
		return
	}
	for _, k := range kept[min(d.want.keepReleases, len(kept)):] {
		if err := d.c.ContainerRemove(ctx, k.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			d.ui.Logf("removing the kept container %s: %s", k.Name[1:], err)
			continue
		}
		d.ui.Logf("removed the kept container %s (%s): keep_releases is %d", k.Name[1:], imageShort(k.Image), d.want.keepReleases)
	}
}

// keptContainers are NAME's kept containers (made by zrun, called
// NAME--zrun-kept-<12 hex of the ID>), newest first: the last stopped,
// since a container is stopped as it is kept.
func keptContainers(ctx context.Context, c *client.Client, name string) ([]container.InspectResponse, error) {
	list, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("name", name+keptSuffix), filters.Arg("label", labelManaged+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("listing the kept containers of %s: %w", name, err)
	}
	var kept []container.InspectResponse
	for _, s := range list {
		if !slices.Contains(s.Names, "/"+keepName(name, s.ID)) {
			continue // another name holding NAME--zrun-kept- (the filter is a pattern)
		}
		ins, err := c.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspecting the kept container %s: %w", keepName(name, s.ID), err)
		}
		kept = append(kept, ins)
	}
	stopped := func(ins container.InspectResponse) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, ins.State.FinishedAt)
		return t
	}
	slices.SortStableFunc(kept, func(a, b container.InspectResponse) int {
		if c := stopped(b).Compare(stopped(a)); c != 0 {
			return c
		}
		return strings.Compare(b.Created, a.Created)
	})
	return kept, nil
}
