package targets

import (
	"context"
	"fmt"

	"github.com/zrun-dev/zrun/sdk"
)

// Dial opens a connection from the host: "tcp" through a direct-tcpip
// channel, "unix" through OpenSSH's direct-streamlocal one. The channel's
// CloseWrite sends EOF and keeps reading, which is the half-close
// sdk.Conn promises. Deadlines are not supported by SSH channels: their
// setters return an error.
func (h *host) Dial(ctx context.Context, network, address string) (sdk.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("dial %s on host %s: network %q is not supported (use tcp or unix)", address, h.cfg.Name, network)
	}
	c, err := h.conn(ctx)
	if err != nil {
		return nil, err
	}
	nc, err := c.client.DialContext(ctx, network, address)
	if err != nil {
		if !alive(c) {
			h.drop(c)
		}
		return nil, fmt.Errorf("dial %s %s from host %s: %w", network, address, h.cfg.label(), err)
	}
	conn, ok := nc.(sdk.Conn)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("dial %s %s from host %s: the SSH library's connection cannot half-close", network, address, h.cfg.label())
	}
	return conn, nil
}

// Interface guards
var _ sdk.Target = (*host)(nil)
