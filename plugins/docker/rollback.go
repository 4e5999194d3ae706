package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// This file is docker.rollback (docs/docker-plugin.md, "Releases and
// rollback"): a kept container of an earlier release is swapped back in
// through the health gate and the swap of a replacement, and the
// container it replaces is kept in turn.

type rollbackArgs struct {
	Socket       *string    `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Name         string     `zrun:"name" help:"The container to roll back."`
	Releases     *[]release `zrun:"releases" help:"The environment's releases, newest first: run.releases."`
	Release      *string    `zrun:"release" help:"The release to go back to: a run ID, as zrun releases lists them. Default: \"\", the one before the current state: releases[1], or, when the newest release is a rollback, the one before the release it went back to (so rollbacks in a row keep going back)."`
	ImageID      *string    `zrun:"image_id" help:"Instead of releases and release: the image to go back to (a failed deploy's on_failure passes the replaced container's previous_image_id)."`
	Check        bool       `zrun:"check,optional" help:"Only check that the rollback can be done; change nothing."`
	HTTPCheck    *string    `zrun:"http_check" help:"The health gate over HTTP, besides Docker's healthcheck: \"8080/health\" (PORT/PATH), a GET at the container's IP on its first network, dialled through the target, until it answers 2xx."`
	ReadyTimeout *string    `zrun:"ready_timeout" help:"How long the health gate waits for the container rolled back to. Default: \"60s\"."`
	Handover     *bool      `zrun:"handover" help:"As docker.container's: the current container keeps serving, as NAME--zrun-old, until docker.retire, while a proxy moves the traffic to the one rolled back to (its address output). Needs a spec whose host ports Docker picks. Default: false."`
}

// release is one element of run.releases (engine/releases.go).
type release struct {
	ID       string            `cty:"id"`
	Workflow string            `cty:"workflow"`
	Commit   string            `cty:"commit"`
	Version  string            `cty:"version"`
	EndedAt  string            `cty:"ended_at"`
	Images   map[string]string `cty:"images"`
	Restores string            `cty:"restores"`
	// MigrationLevel is the database's migration level the release
	// left; rollback does not use it (the rollback workflow checks it).
	MigrationLevel *int64 `cty:"migration_level"`
}

// rollbackOutputs are docker.container's outputs (so that zrun records a
// rollback as a release, as it does a deploy), and the release it went
// back to (so that the next rollback goes on back from there).
type rollbackOutputs struct {
	containerOutputs
	Release string `zrun:"release" help:"The release the container went back to (a run ID, recorded with this run's release so that the next rollback goes back from there); \"\" with image_id."`
}

const actionRolledBack = "rolled_back"

func newRollbackAction() sdk.Action {
	return rollbackAction{sdk.NewAction("rollback",
		"Put a container back as an earlier release ran it: its kept container (exact image, environment and spec) is swapped in through the health gate, and the current one kept in turn.",
		runRollback, sdk.WithValidate(validateRollback), sdk.WithPlan(planRollback))}
}

// rollbackAction is docker.rollback with its plan told the run's
// environment, which a refusal names and a typed plan function is not
// given.
type rollbackAction struct{ sdk.Action }

type planEnvKey struct{}

func (a rollbackAction) Validate(ctx context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	return a.Action.(sdk.Validator).Validate(ctx, req)
}

func (a rollbackAction) Plan(ctx context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error) {
	return a.Action.(sdk.Planner).Plan(context.WithValue(ctx, planEnvKey{}, req.Info.Env), req)
}

func validateRollback(_ context.Context, a rollbackArgs, known sdk.Known) sdk.Diagnostics {
	_, _, diags := a.parse(known)
	return diags
}

// parse checks the arguments beyond their types and returns the gate's
// http_check and timeout.
func (a rollbackArgs) parse(known sdk.Known) (*httpCheck, time.Duration, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	if known.Has("name") {
		diags = append(diags, checkContainerName("name", a.Name)...)
	}
	if known.Has("image_id") && deref(a.ImageID) != "" {
		switch {
		case known.Has("release") && deref(a.Release) != "":
			diags = diags.Errorf(argPath("image_id"), "Conflicting arguments", `"image_id" is instead of "release": give the image to go back to, or the release, not both.`)
		case known.Has("releases") && a.Releases != nil:
			diags = diags.Errorf(argPath("image_id"), "Conflicting arguments", `"image_id" is instead of "releases": give the image to go back to, or the releases (run.releases) and the release, not both.`)
		}
	}
	var hc *httpCheck
	if known.Has("http_check") && a.HTTPCheck != nil {
		hc = httpCheckArg(&diags, *a.HTTPCheck)
	}
	timeout := defaultReadyTimeout
	if known.Has("ready_timeout") && a.ReadyTimeout != nil {
		if t, ok := duration(&diags, "ready_timeout", *a.ReadyTimeout, false); ok {
			timeout = t
		}
	}
	return hc, timeout, diags
}

// goal is what a rollback goes back to: an image, and the release it
// comes from ("" when image_id names it); path is the argument that
// chose it.
type goal struct {
	image, release string
	path           cty.Path
}

// about is the goal for messages: "sha256:0123456789ab (release R)".
func (g goal) about() string {
	if g.release == "" {
		return imageShort(g.image)
	}
	return imageShort(g.image) + " (release " + g.release + ")"
}

var fullImageID = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// goal finds the image to go back to in the releases of env, or takes
// image_id (resolved on the engine when it is not a full ID). Each
// refusal names the release, the container and the image as far as they
// are known.
func (a rollbackArgs) goal(ctx context.Context, c *client.Client, env string) (goal, error) {
	if id := deref(a.ImageID); id != "" {
		if fullImageID.MatchString(id) || c == nil {
			return goal{image: id, path: argPath("image_id")}, nil
		}
		ins, err := c.ImageInspect(ctx, id)
		if cerrdefs.IsNotFound(err) {
			return goal{}, &sdk.ArgError{Path: argPath("image_id"), Summary: "Image not found",
				Detail: fmt.Sprintf("Cannot roll back %s: the engine has no image %s. image_id is an image ID (sha256:...), as docker.container's previous_image_id output gives it.", a.Name, id)}
		}
		if err != nil {
			return goal{}, fmt.Errorf("looking up image %s: %w", id, err)
		}
		return goal{image: ins.ID, path: argPath("image_id")}, nil
	}
	if a.Releases == nil {
		return goal{}, &sdk.ArgError{Path: argPath("releases"), Summary: "Nothing to roll back to",
			Detail: fmt.Sprintf("Cannot roll back %s: give releases = run.releases (and release, to choose one other than the one before the current), or image_id. (An empty image_id is a deploy that replaced no container.)", a.Name)}
	}
	rels := *a.Releases
	where := env
	if where == "" {
		where = "this run's environment"
	}
	var rel release
	if want := deref(a.Release); want == "" {
		if len(rels) < 2 {
			current := "it has none"
			if len(rels) == 1 {
				current = "the current one is " + rels[0].ID
			}
			return goal{}, &sdk.ArgError{Path: argPath("releases"), Summary: "No earlier release",
				Detail: fmt.Sprintf("Cannot roll back %s: %s has no release before the current one (%s).", a.Name, where, current)}
		}
		i, err := previousRelease(rels)
		if err != nil {
			return goal{}, &sdk.ArgError{Path: argPath("releases"), Summary: "No earlier release",
				Detail: fmt.Sprintf("Cannot roll back %s: %s has no release before the current state: %v.", a.Name, where, err)}
		}
		rel = rels[i]
	} else {
		i := slices.IndexFunc(rels, func(r release) bool { return r.ID == want })
		if i < 0 {
			return goal{}, &sdk.ArgError{Path: argPath("release"), Summary: "Release not found",
				Detail: fmt.Sprintf("Cannot roll back %s: no release %s in %s: `zrun releases --env %s` lists them.", a.Name, want, where, env)}
		}
		rel = rels[i]
	}
	path := argPath("release")
	if deref(a.Release) == "" {
		path = argPath("releases")
	}
	img, ok := rel.Images[a.Name]
	if !ok {
		names := make([]string, 0, len(rel.Images))
		for n := range rel.Images {
			names = append(names, n)
		}
		slices.Sort(names)
		return goal{}, &sdk.ArgError{Path: path, Summary: "Release did not deploy the container",
			Detail: fmt.Sprintf("Cannot roll back %s: release %s (%s, %s) did not deploy it; it deployed %s.", a.Name, rel.ID, rel.Workflow, rel.EndedAt, listOrNone(names))}
	}
	return goal{image: img, release: rel.ID, path: path}, nil
}

// previousRelease is the index in rels (newest first, at least two) of
// the release a rollback goes back to by default: the one before the
// release whose state is current. A rollback's release restores an
// earlier one, and the state it left is that release's, so the chain of
// restores is followed first: after deploys 1, 2 and 3 and a rollback to
// 2, the next rollback goes to 1, not back to 3.
func previousRelease(rels []release) (int, error) {
	cur := 0
	for rels[cur].Restores != "" {
		j := slices.IndexFunc(rels, func(r release) bool { return r.ID == rels[cur].Restores })
		if j <= cur { // gone from the list, or not older: stop at what is known
			break
		}
		cur = j
	}
	if cur+1 >= len(rels) {
		if cur == 0 {
			return 0, fmt.Errorf("the current one is %s", rels[0].ID)
		}
		return 0, fmt.Errorf("the current one, %s, rolled back to %s, the oldest", rels[0].ID, rels[cur].ID)
	}
	return cur + 1, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "no container"
	}
	return strings.Join(names, ", ")
}

// rollbackPlan is what a rollback finds on the engine before it changes
// anything: the current container (nil if none) and, unless that one
// runs the image already, the kept container to swap in and its spec
// (from its zrun.spec.json label, env values hashed).
type rollbackPlan struct {
	goal goal
	cur  *container.InspectResponse
	kept *container.InspectResponse
	want *desired
	// all are NAME's kept containers, newest first.
	all []container.InspectResponse
}

// unchanged reports whether the current container runs the image already.
func (p *rollbackPlan) unchanged() bool { return p.kept == nil }

// find looks at NAME and its kept containers for the goal, and refuses
// what cannot be done, changing nothing.
func findRollback(ctx context.Context, c *client.Client, name string, g goal) (*rollbackPlan, error) {
	p := &rollbackPlan{goal: g}
	cur, err := containerByName(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if cur != nil && !managed(cur) {
		return nil, notManagedError(name)
	}
	p.cur = cur
	for _, left := range []string{name + candidateSuffix, name + oldSuffix} {
		ins, err := containerByName(ctx, c, left)
		if err != nil {
			return nil, err
		}
		if ins != nil {
			return nil, fmt.Errorf("cannot roll back %s to %s: %s exists, left by an interrupted run; run the docker.container step of %s first, which settles it", name, g.about(), left, name)
		}
	}
	if cur != nil && cur.Image == g.image {
		return p, nil
	}
	kept, err := keptContainers(ctx, c, name)
	if err != nil {
		return nil, err
	}
	p.all = kept
	i := slices.IndexFunc(kept, func(k container.InspectResponse) bool { return k.Image == g.image })
	if i < 0 {
		have := make([]string, len(kept))
		for j, k := range kept {
			have[j] = k.Name[1:] + " (" + imageShort(k.Image) + ")"
		}
		return nil, &sdk.ArgError{Path: g.path, Summary: "No kept container of that image",
			Detail: fmt.Sprintf("Cannot roll back %s to %s: no kept container of %s runs image %s: it was removed, or is older than keep_releases (docker.container keeps that many replaced containers). Kept now: %s.",
				name, g.about(), name, g.image, listOrNone(have))}
	}
	p.kept = &kept[i]
	if p.want, err = keptDesired(p.kept); err != nil {
		return nil, fmt.Errorf("cannot roll back %s to %s: %w", name, g.about(), err)
	}
	for _, net := range p.want.networkNames() {
		if _, err := c.NetworkInspect(ctx, net, network.InspectOptions{}); cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("cannot roll back %s to %s: its kept container %s was on network %s, which no longer exists: create it again (docker.network)", name, g.about(), p.kept.Name[1:], net)
		} else if err != nil {
			return nil, fmt.Errorf("inspecting network %s: %w", net, err)
		}
	}
	return p, nil
}

// keptDesired is the spec a kept container was made of, as its
// zrun.spec.json label records it (env values hashed: the container holds
// them), with what a swap needs of it: its host ports (its own), its
// restart policy and networks (those of the label: keeping it took them
// off the container).
func keptDesired(k *container.InspectResponse) (*desired, error) {
	var s spec
	if err := json.Unmarshal([]byte(k.Config.Labels[labelSpecJSON]), &s); err != nil {
		return nil, fmt.Errorf("the spec its kept container %s records (%s) cannot be read: %w", k.Name[1:], labelSpecJSON, err)
	}
	if !restartRE.MatchString(s.Restart) {
		return nil, fmt.Errorf("the spec its kept container %s records has the restart policy %q, which zrun does not write", k.Name[1:], s.Restart)
	}
	d := &desired{spec: s, restart: restartPolicy(s.Restart), keepReleases: keepAll}
	if k.HostConfig != nil {
		d.bindings = k.HostConfig.PortBindings
	}
	return d, nil
}

func runRollback(ctx context.Context, a rollbackArgs, ui sdk.UI) (rollbackOutputs, error) {
	hc, timeout, diags := a.parse(sdk.Known{})
	if diags.HasErrors() {
		return rollbackOutputs{}, diags.Err()
	}
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return rollbackOutputs{}, err
	}
	defer c.Close()
	g, err := a.goal(ctx, c, ui.Info().Env)
	if err != nil {
		return rollbackOutputs{}, err
	}
	p, err := findRollback(ctx, c, a.Name, g)
	if err != nil {
		return rollbackOutputs{}, err
	}
	switch {
	case p.unchanged():
		ui.Logf("%s runs %s already: nothing to roll back", a.Name, g.about())
		out, err := withImageDigest(ctx, c, currentOutputs(a.Name, p.cur), "")
		return rollbackOutputs{containerOutputs: out, Release: g.release}, err
	case a.Check:
		ui.Logf("%s can be rolled back to %s: its kept container %s would be swapped in (check is set: nothing changed)", a.Name, g.about(), p.kept.Name[1:])
		out, err := withImageDigest(ctx, c, currentOutputs(a.Name, p.cur), "")
		return rollbackOutputs{containerOutputs: out, Release: g.release}, err
	}
	p.want.httpCheck, p.want.readyTimeout = hc, timeout
	if a.Handover != nil && *a.Handover {
		if p.want.publishes() {
			return rollbackOutputs{}, &sdk.ArgError{Path: argPath("handover"), Summary: "Handover with a fixed host port",
				Detail: fmt.Sprintf("The release of %s that the rollback goes back to publishes a fixed host port, which its container could not take while the current one holds it: roll back without handover.", a.Name)}
		}
		p.want.handover = true
	}
	d := newRollbackDeployment(c, ui, p)
	if err := d.rekeepStrays(ctx, p.all); err != nil {
		return rollbackOutputs{}, err
	}
	out, err := d.rollBack(ctx, p)
	if err == nil {
		// The spec records the image by ID: no repository to prefer.
		out, err = withImageDigest(ctx, c, out, "")
	}
	return rollbackOutputs{containerOutputs: out, Release: g.release}, err
}

// currentOutputs are the outputs of a rollback that changed nothing: the
// current container's.
func currentOutputs(name string, cur *container.InspectResponse) containerOutputs {
	if cur == nil {
		return containerOutputs{Name: name, Action: actionUnchanged}
	}
	out := containerOutputs{ID: cur.ID, Name: name, ImageID: cur.Image, Action: actionUnchanged, SpecHash: cur.Config.Labels[labelSpec], Spec: cur.Config.Labels[labelSpecJSON]}
	out.Address, out.Ports = published(cur)
	return out
}

// newRollbackDeployment is the deployment that swaps p's kept container in: its
// spec is the kept one's, a swap that succeeds rolled back, and a kept
// container that does not make it is kept again (never removed).
func newRollbackDeployment(c *client.Client, ui sdk.UI, p *rollbackPlan) *deployment {
	d := newDeployment(c, ui, p.want)
	d.hash, d.specJSON = p.kept.Config.Labels[labelSpec], p.kept.Config.Labels[labelSpecJSON]
	d.action = actionRolledBack
	d.discard = func(ctx context.Context, id, _ string) string {
		kctx, cancel := cleanupCtx(ctx)
		defer cancel()
		kept, err := d.keep(kctx, id)
		if err != nil {
			return fmt.Sprintf("keeping the kept container %s again failed: %s", keepName(d.name(), id), err)
		}
		return "the kept container was stopped and kept again as " + kept
	}
	return d
}

// rekeepStrays keeps again the kept containers that are not wholly kept:
// a rollback interrupted while it gated one leaves it running under its
// kept name (without aliases).
func (d *deployment) rekeepStrays(ctx context.Context, kept []container.InspectResponse) error {
	for _, k := range kept {
		if whollyKept(&k) {
			continue
		}
		d.ui.Logf("stopping %s again: an interrupted rollback left it started", k.Name[1:])
		if _, err := d.keep(ctx, k.ID); err != nil {
			return fmt.Errorf("keeping %s again (an interrupted rollback left it started): %w", k.Name[1:], err)
		}
	}
	return nil
}

// whollyKept reports whether a kept container is as keep leaves it:
// stopped, restart policy "no", on no network.
func whollyKept(k *container.InspectResponse) bool {
	restart := container.RestartPolicyDisabled
	if k.HostConfig != nil && k.HostConfig.RestartPolicy.Name != "" {
		restart = k.HostConfig.RestartPolicy.Name
	}
	return !k.State.Running && restart == container.RestartPolicyDisabled &&
		(k.NetworkSettings == nil || len(k.NetworkSettings.Networks) == 0)
}

// rollBack swaps the kept container in (steps 4-5 of a replacement, the
// kept container as the candidate). Without host ports it is readied
// (restart policy, networks without aliases) and started under its kept
// name beside the current one, gated, and then swapped in (step 4). With
// host ports the current one is stopped first, the kept one renamed NAME,
// readied with its aliases, started and gated, and the current one put
// back if it fails (step 5). With no current container, the kept one is
// started as NAME.
func (d *deployment) rollBack(ctx context.Context, p *rollbackPlan) (containerOutputs, error) {
	name, k, keptName := d.name(), p.kept, p.kept.Name[1:]
	bringIn := func(ctx context.Context) (string, error) {
		if err := d.c.ContainerRename(ctx, k.ID, name); err != nil {
			return "", fmt.Errorf("renaming %s to %s: %w", keptName, name, err)
		}
		if err := d.restore(ctx, k.ID, true); err != nil {
			return "", fmt.Errorf("%w (%s)", err, d.discard(ctx, k.ID, name))
		}
		return k.ID, nil
	}
	switch {
	case p.cur == nil:
		d.ui.Logf("rolling back %s to %s: there is no %s; starting its kept container %s as %s", name, p.goal.about(), name, keptName, name)
		id, err := bringIn(ctx)
		if err != nil {
			return containerOutputs{}, err
		}
		if err := d.gate(ctx, id, name); err != nil {
			return containerOutputs{}, fmt.Errorf("%s failed its health gate (%s): %w", name, d.discard(ctx, id, name), err)
		}
		return d.outputsOf(ctx, id, d.action, "")
	case d.want.publishes():
		d.ui.Logf("rolling back %s to %s: stopping %s to free its host ports for its kept container %s", name, p.goal.about(), name, keptName)
		return d.holdingPorts(ctx, p.cur, bringIn)
	}
	d.ui.Logf("rolling back %s to %s: starting its kept container %s beside it", name, p.goal.about(), keptName)
	if err := d.restore(ctx, k.ID, false); err != nil {
		return containerOutputs{}, fmt.Errorf("%w (%s; %s was not touched)", err, d.discard(ctx, k.ID, keptName), name)
	}
	if err := d.gate(ctx, k.ID, keptName); err != nil {
		return containerOutputs{}, fmt.Errorf("the kept container failed its health gate (%s); %s was not touched: %w", d.discard(ctx, k.ID, keptName), name, err)
	}
	return d.swap(ctx, p.cur, k.ID, keptName)
}

// restore readies a kept container to serve again and starts it: the
// restart policy of its spec, and the networks of its spec (Docker's
// default bridge when it names none), with its aliases or, for one gated
// before it takes its name, without them (no traffic before it is ready).
func (d *deployment) restore(ctx context.Context, id string, aliases bool) error {
	if _, err := d.c.ContainerUpdate(ctx, id, container.UpdateConfig{RestartPolicy: d.want.restart}); err != nil {
		return fmt.Errorf("restoring the restart policy of %s: %w", d.name(), err)
	}
	nets := d.want.networkNames()
	if len(nets) == 0 {
		nets = []string{network.NetworkBridge}
	}
	for _, net := range nets {
		ep := &network.EndpointSettings{}
		if aliases {
			ep.Aliases = d.want.spec.Networks[net]
		}
		if err := d.c.NetworkConnect(ctx, net, id, ep); err != nil {
			return fmt.Errorf("connecting the kept container of %s to network %s: %w", d.name(), net, err)
		}
	}
	if err := d.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("starting the kept container of %s: %w", d.name(), err)
	}
	d.ui.Logf("started the kept container %s", shortID(id))
	return nil
}
