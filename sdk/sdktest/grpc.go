package sdktest

import (
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

// GRPC serves p as its binary would (plugin.Serve's checks, the rpc
// server) over a real gRPC connection in this process, and returns the
// host's client for it. Both end with the test.
func GRPC(t testing.TB, p *sdk.Plugin) sdk.Client {
	t.Helper()
	sets := plugin.PluginSets(p)
	// Closing the client shuts the server down through go-plugin's
	// controller service; stopping it here too would race with that.
	client, _ := goplugin.TestPluginGRPCConn(t, false, sets[rpc.ProtocolVersion])
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(rpc.PluginName)
	if err != nil {
		t.Fatalf("dispensing plugin %q: %s", p.Name, err)
	}
	return raw.(sdk.Client)
}
