package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

type networkArgs struct {
	Socket   *string           `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Name     string            `zrun:"name" help:"The network's name."`
	Driver   *string           `zrun:"driver" help:"The network driver. Default: bridge."`
	Internal bool              `zrun:"internal,optional" help:"Cut the network off from the outside (no route out)."`
	Labels   map[string]string `zrun:"labels,optional" help:"Labels, beside zrun.managed."`
}

type networkOutputs struct {
	ID      string `zrun:"id" help:"The network's ID."`
	Name    string `zrun:"name" help:"The network's name."`
	Changed bool   `zrun:"changed" help:"Whether the step created the network."`
}

const defaultNetworkDriver = "bridge"

func newNetwork() sdk.Action {
	return sdk.NewAction("network",
		"Ensure a network exists. An existing one is left as it is; one with another driver is an error (replacing it would cut off its containers).",
		runNetwork, sdk.WithValidate(validateNetwork), sdk.WithPlan(planNetwork))
}

func (a networkArgs) driver() string {
	if a.Driver == nil || *a.Driver == "" {
		return defaultNetworkDriver
	}
	return *a.Driver
}

func validateNetwork(_ context.Context, a networkArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("name") && a.Name == "" {
		diags = diags.Errorf(argPath("name"), "Empty network name", `"name" names the network, e.g. "backend".`)
	}
	if known.Has("labels") {
		diags = append(diags, checkLabels(a.Labels)...)
	}
	return diags
}

func runNetwork(ctx context.Context, a networkArgs, ui sdk.UI) (networkOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return networkOutputs{}, err
	}
	defer c.Close()
	cur, err := networkByName(ctx, c, a.Name, a.driver())
	if err != nil {
		return networkOutputs{}, err
	}
	if cur != nil {
		return networkOutputs{ID: cur.ID, Name: a.Name}, nil
	}
	resp, err := c.NetworkCreate(ctx, a.Name, network.CreateOptions{Driver: a.driver(), Internal: a.Internal, Labels: managedLabels(a.Labels)})
	if err != nil {
		return networkOutputs{}, fmt.Errorf("creating network %s: %w", a.Name, err)
	}
	ui.Logf("created network %s (%s)", a.Name, a.driver())
	return networkOutputs{ID: resp.ID, Name: a.Name, Changed: true}, nil
}

func planNetwork(ctx context.Context, a networkArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if target == nil || !known.Has("name") || !known.Has("socket") {
		return changes(fmt.Sprintf("ensure network %s (%s)", a.Name, a.driver())), nil
	}
	c, err := connect(ctx, target, a.Socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cur, err := networkByName(ctx, c, a.Name, a.driver())
	if err != nil {
		return nil, err
	}
	if cur != nil {
		return &sdk.PlanResponse{Changes: []string{"network " + a.Name + " exists"}, NoOp: true}, nil
	}
	return changes(fmt.Sprintf("create network %s (%s)", a.Name, a.driver())), nil
}

// networkByName is the network called name (nil if none); one whose
// driver is not driver is an error.
func networkByName(ctx context.Context, c *client.Client, name, driver string) (*network.Summary, error) {
	// The engine's name filter matches parts of names: the exact one is picked.
	list, err := c.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	for i := range list {
		n := &list[i]
		if n.Name != name {
			continue
		}
		if n.Driver != driver {
			return nil, &sdk.ArgError{Path: argPath("driver"), Summary: "Network driver differs",
				Detail: fmt.Sprintf("Network %s exists with driver %s, not %s. zrun does not replace it (that would cut off its containers): set driver = %q, or remove the network and run again.", name, n.Driver, driver, n.Driver)}
		}
		return n, nil
	}
	return nil, nil
}
