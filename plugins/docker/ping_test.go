package docker

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// The engine answers through the target's Dial, and the client talks the
// engine's API version, not its own newer one.
func TestPingNegotiates(t *testing.T) {
	sock := dockertest.Socket(t)
	res := sdktest.Run(t, Plugin(), "ping", map[string]cty.Value{"socket": cty.StringVal(sock)},
		sdktest.WithTarget(local.Target()), sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	server, _ := dockertest.Client(t, sock).ServerVersion(t.Context())
	if got := res.Outputs.GetAttr("api_version").AsString(); got != server.APIVersion {
		t.Errorf("api_version %s, the engine speaks %s", got, server.APIVersion)
	}
	if got := res.Outputs.GetAttr("server_version").AsString(); got != server.Version {
		t.Errorf("server_version %s, want %s", got, server.Version)
	}
}

// An engine that is not there is a clear error naming the socket.
func TestPingNoEngine(t *testing.T) {
	res := sdktest.Run(t, Plugin(), "ping", map[string]cty.Value{"socket": cty.StringVal(t.TempDir() + "/none.sock")},
		sdktest.WithTarget(local.Target()))
	err := res.Diagnostics.Err()
	if err == nil || !contains(err.Error(), "none.sock") || !contains(err.Error(), "does not answer") {
		t.Fatalf("want an error naming the socket, got %v", err)
	}
}
