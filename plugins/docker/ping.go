package docker

import (
	"context"

	"github.com/zrun-dev/zrun/sdk"
)

type pingArgs struct {
	Socket *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type pingOutputs struct {
	ServerVersion string `zrun:"server_version" help:"The engine's version, e.g. 20.10.24."`
	APIVersion    string `zrun:"api_version" help:"The API version the client and the engine agreed on, e.g. 1.41."`
	OS            string `zrun:"os" help:"The engine's operating system, e.g. linux."`
}

func newPing() sdk.Action {
	return sdk.NewAction("ping", "Check that the target's Docker Engine answers, and report its version.", runPing)
}

func runPing(ctx context.Context, a pingArgs, ui sdk.UI) (pingOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return pingOutputs{}, err
	}
	defer c.Close()
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return pingOutputs{}, err
	}
	return pingOutputs{ServerVersion: v.Version, APIVersion: c.ClientVersion(), OS: v.Os}, nil
}
