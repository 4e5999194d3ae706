package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

type volumeArgs struct {
	Socket *string           `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Name   string            `zrun:"name" help:"The volume's name."`
	Driver *string           `zrun:"driver" help:"The volume driver. Default: local."`
	Labels map[string]string `zrun:"labels,optional" help:"Labels, beside zrun.managed."`
}

type volumeOutputs struct {
	Name    string `zrun:"name" help:"The volume's name."`
	Changed bool   `zrun:"changed" help:"Whether the step created the volume."`
}

const defaultVolumeDriver = "local"

func newVolume() sdk.Action {
	return sdk.NewAction("volume",
		"Ensure a named volume exists. An existing one is left as it is; one with another driver is an error.",
		runVolume, sdk.WithValidate(validateVolume), sdk.WithPlan(planVolume))
}

func (a volumeArgs) driver() string {
	if a.Driver == nil || *a.Driver == "" {
		return defaultVolumeDriver
	}
	return *a.Driver
}

func validateVolume(_ context.Context, a volumeArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("name") && !volumeNameRE.MatchString(a.Name) {
		diags = diags.Errorf(argPath("name"), "Invalid volume name",
			fmt.Sprintf("%q is not a volume name: at least two characters, letters, digits, \"_\", \".\" and \"-\", starting with a letter or digit.", a.Name))
	}
	if known.Has("labels") {
		diags = append(diags, checkLabels(a.Labels)...)
	}
	return diags
}

func runVolume(ctx context.Context, a volumeArgs, ui sdk.UI) (volumeOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return volumeOutputs{}, err
	}
	defer c.Close()
	exists, err := volumeExists(ctx, c, a.Name, a.driver())
	if err != nil || exists {
		return volumeOutputs{Name: a.Name}, err
	}
	if _, err := c.VolumeCreate(ctx, volume.CreateOptions{Name: a.Name, Driver: a.driver(), Labels: managedLabels(a.Labels)}); err != nil {
		return volumeOutputs{}, fmt.Errorf("creating volume %s: %w", a.Name, err)
	}
	ui.Logf("created volume %s (%s)", a.Name, a.driver())
	return volumeOutputs{Name: a.Name, Changed: true}, nil
}

func planVolume(ctx context.Context, a volumeArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if target == nil || !known.Has("name") || !known.Has("socket") {
		return changes(fmt.Sprintf("ensure volume %s (%s)", a.Name, a.driver())), nil
	}
	c, err := connect(ctx, target, a.Socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	exists, err := volumeExists(ctx, c, a.Name, a.driver())
	if err != nil {
		return nil, err
	}
	if exists {
		return &sdk.PlanResponse{Changes: []string{"volume " + a.Name + " exists"}, NoOp: true}, nil
	}
	return changes(fmt.Sprintf("create volume %s (%s)", a.Name, a.driver())), nil
}

// volumeExists reports whether the volume called name exists; one whose
// driver is not driver is an error.
func volumeExists(ctx context.Context, c *client.Client, name, driver string) (bool, error) {
	v, err := c.VolumeInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspecting volume %s: %w", name, err)
	}
	if v.Driver != driver {
		return false, &sdk.ArgError{Path: argPath("driver"), Summary: "Volume driver differs",
			Detail: fmt.Sprintf("Volume %s exists with driver %s, not %s. zrun does not replace it (that would lose its data): set driver = %q, or remove the volume and run again.", name, v.Driver, driver, v.Driver)}
	}
	return true, nil
}
