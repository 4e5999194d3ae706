package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

type containerArgs struct {
	Socket            *string             `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Name              string              `zrun:"name" help:"The container's name."`
	Image             string              `zrun:"image" help:"An image reference (\"zakupai/app:1.4.2\") or ID, resolved to the image's ID on the engine: a rebuilt tag is a changed spec. Pulled when the engine lacks it."`
	Command           []string            `zrun:"command,optional" help:"The command (Docker's Cmd). Default: the image's."`
	Entrypoint        []string            `zrun:"entrypoint,optional" help:"The entrypoint. Default: the image's."`
	Env               map[string]string   `zrun:"env,optional" help:"Environment variables. Their values never appear in plans, labels or errors."`
	Ports             []string            `zrun:"ports,optional" help:"Published ports: \"8080:8080\", \"127.0.0.1:9090:9090\", \"5353:53/udp\"."`
	Volumes           []string            `zrun:"volumes,optional" help:"\"NAME:/path[:ro]\" (a named volume) or \"/abs/host/path:/path[:ro]\" (a bind mount)."`
	Networks          map[string][]string `zrun:"networks,optional" help:"Network name to the container's aliases on it. The first network (sorted) is given at create, the others connected before start; the health gate reaches the container on the first."`
	Restart           *string             `zrun:"restart" help:"The restart policy: no, always, unless-stopped, on-failure[:N]. Default: no."`
	Memory            *string             `zrun:"memory" help:"The memory limit: \"512M\", \"1G\"."`
	MemoryReservation *string             `zrun:"memory_reservation" help:"The memory reservation (a soft limit): \"256M\"."`
	CPUs              *float64            `zrun:"cpus" help:"How many CPUs the container may use (a limit): 0.5, 2."`
	CPUShares         *int64              `zrun:"cpu_shares" help:"The relative CPU weight (1024 is one CPU's), standing for a reservation: compose's reservations.cpus: 0.25 is 256."`
	HealthCmd         []string            `zrun:"health_cmd,optional" help:"Docker's healthcheck: [\"CMD\", \"/app\", \"-check\", \"http://127.0.0.1:8080/health\"], [\"CMD-SHELL\", \"...\"] or [\"NONE\"]. Default: the image's."`
	HealthInterval    *string             `zrun:"health_interval" help:"Time between health probes: \"5s\"."`
	HealthTimeout     *string             `zrun:"health_timeout" help:"How long one health probe may take."`
	HealthStartPeriod *string             `zrun:"health_start_period" help:"How long failed probes do not count after the start."`
	HealthRetries     *int                `zrun:"health_retries" help:"How many failed probes in a row make the container unhealthy."`
	Labels            map[string]string   `zrun:"labels,optional" help:"Labels, merged with zrun's (zrun.*)."`
	User              *string             `zrun:"user" help:"The user the container runs as: \"1000\", \"app:app\"."`
	WorkingDir        *string             `zrun:"working_dir" help:"The working directory in the container."`
	StopTimeout       *string             `zrun:"stop_timeout" help:"How long a stop waits after SIGTERM before SIGKILL. Default: \"10s\"."`
	HTTPCheck         *string             `zrun:"http_check" help:"The health gate over HTTP, besides Docker's healthcheck: \"8080/health\" (PORT/PATH), a GET at the container's IP on its first network, dialled through the target, until it answers 2xx."`
	ReadyTimeout      *string             `zrun:"ready_timeout" help:"How long the health gate waits for a new or started container. Default: \"60s\"."`
	KeepReleases      *int                `zrun:"keep_releases" help:"How many replaced containers of this name are kept, stopped, for docker.rollback (the newest); older ones are removed after a replacement. 0 keeps none. Default: 3."`
	Handover          *bool               `zrun:"handover" help:"Leave the old container serving after the new one took its name, as NAME--zrun-old, until docker.retire retires it (or docker.reinstate puts it back): a proxy moves the traffic from previous_address to address in between, and no request fails. Needs ports whose host port Docker picks (\"127.0.0.1::8080\"). Default: false."`
}

type containerOutputs struct {
	ID              string `zrun:"id" help:"The container's ID."`
	Name            string `zrun:"name" help:"The container's name."`
	ImageID         string `zrun:"image_id" help:"The ID of the container's image (sha256:...)."`
	Changed         bool   `zrun:"changed" help:"Whether the step created, replaced, started or rolled back the container."`
	Action          string `zrun:"action" help:"What the step did: created, replaced, started or unchanged (docker.container); rolled_back or unchanged (docker.rollback: the container runs that image already, or check is set)."`
	SpecHash        string `zrun:"spec_hash" help:"The container's spec hash (its zrun.spec label)."`
	Spec            string `zrun:"spec" help:"The container's canonical spec as JSON (its zrun.spec.json label: every env value replaced by a hash of it), which zrun records with the release."`
	PreviousImageID string `zrun:"previous_image_id" help:"The image ID of the container this step replaced; \"\" if it replaced none."`
	ImageDigest     string `zrun:"image_digest" help:"The registry digest (sha256:...) of the container's image, from its RepoDigests: the one in the repository of image when it has one there, else the first; \"\" when it has none (built or loaded here, never pushed or pulled)."`
	// Where the container serves on the target (its published ports), and
	// the old one still serving after a handover.
	Address         string            `zrun:"address" help:"HOST:PORT of the container's first published port, as the target reaches it (\"127.0.0.1:49153\"; a port bound to every address is given at 127.0.0.1); \"\" if it publishes none."`
	Ports           map[string]string `zrun:"ports" help:"Each published container port (\"8080/tcp\") to HOST:PORT on the target."`
	PreviousAddress string            `zrun:"previous_address" help:"With handover: the address of the old container, which still serves until docker.retire; \"\" when none is left serving."`
}

// What docker.container did (its action output).
const (
	actionCreated   = "created"
	actionReplaced  = "replaced"
	actionStarted   = "started"
	actionUnchanged = "unchanged"
)

func newContainer() sdk.Action {
	return sdk.NewAction("container",
		"Declare a container: create it when missing, replace it when its spec changed (the new one is started beside the old and must pass the health gate before the old one stops), start it if stopped, else leave it alone.",
		runContainer, sdk.WithValidate(validateContainer), sdk.WithPlan(planContainer))
}

func validateContainer(_ context.Context, a containerArgs, known sdk.Known) sdk.Diagnostics {
	_, diags := parseContainer(a, known)
	return diags
}

func runContainer(ctx context.Context, a containerArgs, ui sdk.UI) (containerOutputs, error) {
	want, diags := parseContainer(a, sdk.Known{})
	if diags.HasErrors() {
		return containerOutputs{}, diags.Err()
	}
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return containerOutputs{}, err
	}
	defer c.Close()
	imageID, err := containerImageID(ctx, c, ui, a.Image, true)
	if err != nil {
		return containerOutputs{}, err
	}
	want.spec.Image = imageID
	out, err := newDeployment(c, ui, want).run(ctx)
	if err != nil {
		return out, err
	}
	return withImageDigest(ctx, c, out, a.Image)
}

// withImageDigest gives out its image_digest: the digest of its image in
// the repository of the reference prefer, else in any.
func withImageDigest(ctx context.Context, c *client.Client, out containerOutputs, prefer string) (containerOutputs, error) {
	if out.ImageID == "" {
		return out, nil
	}
	d, err := imageDigest(ctx, c, out.ImageID, prefer)
	out.ImageDigest = d
	return out, err
}

// containerImageID resolves ref to the ID of an image on the engine. A
// reference the engine lacks is pulled when pull is set (an ID is never
// pulled); without it, "" is returned for it.
func containerImageID(ctx context.Context, c *client.Client, ui sdk.UI, ref string, pull bool) (string, error) {
	ins, err := c.ImageInspect(ctx, ref)
	if err == nil {
		return ins.ID, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("looking up image %s: %w", ref, err)
	}
	if strings.HasPrefix(ref, "sha256:") {
		return "", &sdk.ArgError{Path: argPath("image"), Summary: "Image not found",
			Detail: fmt.Sprintf("The engine has no image %s. Build it there (docker.build) or load it (docker.load).", ref)}
	}
	if !pull {
		return "", nil
	}
	ui.Logf("pulling %s", ref)
	if err := pullImage(ctx, c, ref); err != nil {
		return "", &sdk.ArgError{Path: argPath("image"), Summary: "Image not found",
			Detail: fmt.Sprintf("The engine has no image %s, and pulling it failed: %s. Build it there (docker.build), load it (docker.load), or check the reference.", ref, err)}
	}
	ins, err = c.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("looking up image %s after pulling it: %w", ref, err)
	}
	return ins.ID, nil
}

// pullImage pulls ref, reading the engine's progress to its end: a pull
// that fails midway says so only in that stream.
func pullImage(ctx context.Context, c *client.Client, ref string) error {
	rc, err := c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return fmt.Errorf("%s", m.Error)
		}
	}
}

// containerByName inspects the container called name; nil when there is
// none. (The engine looks a name up before an ID prefix, and the name is
// checked, so a container whose ID starts with name is not it.)
func containerByName(ctx context.Context, c *client.Client, name string) (*container.InspectResponse, error) {
	ins, err := c.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspecting container %s: %w", name, err)
	}
	if strings.TrimPrefix(ins.Name, "/") != name {
		return nil, nil
	}
	return &ins, nil
}

// managed reports whether zrun made the container.
func managed(ins *container.InspectResponse) bool {
	return ins.Config != nil && ins.Config.Labels[labelManaged] == "true"
}

// notManagedError refuses to touch a container zrun did not make.
func notManagedError(name string) error {
	return fmt.Errorf("container %s exists and was not made by zrun (it has no %s=true label), so zrun will not replace it: remove it first (docker.remove), or give this step another name", name, labelManaged)
}

// deployment is one docker.container run: the spec wanted (its image
// resolved) and the engine to converge it on.
type deployment struct {
	c              *client.Client
	ui             sdk.UI
	want           *desired
	hash, specJSON string
	// gate is the health gate of a container just started; a field so
	// that tests can make it fail where a real container cannot.
	gate func(ctx context.Context, id, name string) error
	// gateOld is the gate of an old container put back: its own
	// healthcheck, if it has one, else staying up (http_check is the new
	// spec's, which the old one may not answer).
	gateOld func(ctx context.Context, id, name string) error
	// action is what a swap that succeeds did: replaced, or (for
	// docker.rollback) rolled_back.
	action string
	// discard takes a container that was being brought in, and is not to
	// serve after all, out of the way (after ctx has ended too), and says
	// what became of it: a new container is removed; docker.rollback's
	// kept one is kept again.
	discard func(ctx context.Context, id, name string) string
	// serving is the old container a handover left serving (NAME--zrun-old).
	serving *container.InspectResponse
}

func newDeployment(c *client.Client, ui sdk.UI, want *desired) *deployment {
	d := &deployment{c: c, ui: ui, want: want, action: actionReplaced}
	d.discard = func(ctx context.Context, id, name string) string {
		d.remove(ctx, id, name, true)
		return "the new container was removed"
	}
	d.specJSON, d.hash = want.spec.label()
	r := &readiness{c: c, target: ui.Target(), network: want.firstNetwork(), http: want.httpCheck, timeout: want.readyTimeout, steady: gateSteady}
	d.gate = r.wait
	old := *r
	old.http = nil
	d.gateOld = old.wait
	return d
}

func (d *deployment) name() string { return d.want.spec.Name }

func (d *deployment) run(ctx context.Context) (containerOutputs, error) {
	cur, prev, err := d.settle(ctx)
	if err != nil {
		return containerOutputs{}, err
	}
	switch {
	case prev != "":
		// settle finished the replacement an interrupted run had begun.
		return d.outputs(cur, actionReplaced, prev), nil
	case cur == nil:
		id, err := d.createStarted(ctx, d.name(), false)
		if err != nil {
			return containerOutputs{}, err
		}
		if err := d.gate(ctx, id, d.name()); err != nil {
			d.remove(ctx, id, d.name(), true)
			return containerOutputs{}, fmt.Errorf("the new container failed its health gate and was removed: %w", err)
		}
		return d.outputsOf(ctx, id, actionCreated, "")
	case !managed(cur):
		return containerOutputs{}, notManagedError(d.name())
	case cur.Config.Labels[labelSpec] != d.hash:
		return d.replace(ctx, cur)
	case cur.State != nil && cur.State.Running:
		return d.outputs(cur, actionUnchanged, ""), nil
	}
	if err := d.c.ContainerStart(ctx, cur.ID, container.StartOptions{}); err != nil {
		return containerOutputs{}, fmt.Errorf("starting container %s: %w", d.name(), err)
	}
	if err := d.gate(ctx, cur.ID, d.name()); err != nil {
		return containerOutputs{}, fmt.Errorf("the stopped container was started and failed its health gate: %w", err)
	}
	return d.outputsOf(ctx, cur.ID, actionStarted, "")
}

func (d *deployment) outputs(ins *container.InspectResponse, action, prev string) containerOutputs {
	out := containerOutputs{
		ID: ins.ID, Name: d.name(), ImageID: ins.Image, Changed: action != actionUnchanged,
		Action: action, SpecHash: ins.Config.Labels[labelSpec], Spec: ins.Config.Labels[labelSpecJSON], PreviousImageID: prev,
	}
	out.Address, out.Ports = published(ins)
	if d.serving != nil {
		out.PreviousAddress, _ = published(d.serving)
	}
	return out
}

func (d *deployment) outputsOf(ctx context.Context, id, action, prev string) (containerOutputs, error) {
	ins, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return containerOutputs{}, fmt.Errorf("inspecting container %s: %w", d.name(), err)
	}
	return d.outputs(&ins, action, prev), nil
}

// labels are zrun's labels of a container of the spec, over the step's.
func (d *deployment) labels(role string) map[string]string {
	l := make(map[string]string, len(d.want.spec.Labels)+5)
	for k, v := range d.want.spec.Labels {
		l[k] = v
	}
	l[labelManaged] = "true"
	l[labelSpec] = d.hash
	l[labelSpecJSON] = d.specJSON
	l[labelStep] = d.ui.Info().Step
	l[labelRole] = role
	return l
}

// createStarted creates a container of the spec called name, connects it
// to its other networks and starts it. A candidate has no host ports and
// no aliases. What it made is removed again if a later part fails.
func (d *deployment) createStarted(ctx context.Context, name string, candidate bool) (string, error) {
	role := "current"
	if candidate {
		role = "candidate"
	}
	cfg, host, nets := d.want.containerConfig(name, d.labels(role), candidate)
	resp, err := d.c.ContainerCreate(ctx, cfg, host, nets, nil, name)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", name, err)
	}
	for _, w := range resp.Warnings {
		d.ui.Logf("%s: %s", name, w)
	}
	fail := func(err error) (string, error) {
		d.remove(ctx, resp.ID, name, true)
		return "", err
	}
	others := d.want.networkNames()
	if len(others) > 0 {
		others = others[1:] // the first is given at create
	}
	for _, net := range others {
		ep := &network.EndpointSettings{}
		if !candidate {
			ep.Aliases = d.want.spec.Networks[net]
		}
		if err := d.c.NetworkConnect(ctx, net, resp.ID, ep); err != nil {
			return fail(fmt.Errorf("connecting container %s to network %s: %w", name, net, err))
		}
	}
	if err := d.c.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fail(fmt.Errorf("starting container %s: %w", name, err))
	}
	d.ui.Logf("started %s (%s)", name, shortID(resp.ID))
	return resp.ID, nil
}

// remove force-removes a container zrun made, after ctx has ended too; a
// failure is logged (it is never the step's first error). A candidate's
// anonymous volumes go with it; an old container's are kept.
func (d *deployment) remove(ctx context.Context, id, name string, candidate bool) {
	rctx, cancel := cleanupCtx(ctx)
	defer cancel()
	err := d.c.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: candidate})
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.ui.Logf("removing container %s (%s): %s", name, shortID(id), err)
	}
}

// shortID is an image or container ID as Docker shows it: 12 hex digits.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
