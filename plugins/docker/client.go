package docker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

// DefaultSocket is where a Docker Engine listens unless told otherwise.
const DefaultSocket = "/var/run/docker.sock"

// socketOf is the engine's socket on the target: the step's socket
// argument, else (on this machine) DOCKER_HOST when it names a unix
// socket, else DefaultSocket.
func socketOf(target sdk.Target, socket *string) (string, error) {
	if socket != nil && *socket != "" {
		return *socket, nil
	}
	if target.Name() == "local" {
		if h := os.Getenv("DOCKER_HOST"); h != "" {
			p, ok := strings.CutPrefix(h, "unix://")
			if !ok {
				return "", fmt.Errorf("DOCKER_HOST=%s: only a unix socket is supported (unix:///path/to/docker.sock); set the step's socket argument instead", h)
			}
			return p, nil
		}
	}
	return DefaultSocket, nil
}

// connect returns a client of the target's engine, the API version
// negotiated. Every connection is dialled through the target.
func connect(ctx context.Context, target sdk.Target, socket *string) (*client.Client, error) {
	path, err := socketOf(target, socket)
	if err != nil {
		return nil, err
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return target.Dial(ctx, "unix", path)
	}
	c, err := client.NewClientWithOpts(
		client.WithHost("unix://"+path),
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: dial, DisableCompression: true}}),
		client.WithDialContext(dial),
		client.WithAPIVersionNegotiation(),
	)
	if err != nil {
		return nil, err
	}
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("the Docker Engine at %s on %s does not answer: %w (is dockerd running? `systemctl start docker`, or set socket)", path, target.Name(), err)
	}
	c.NegotiateAPIVersion(ctx)
	return c, nil
}
