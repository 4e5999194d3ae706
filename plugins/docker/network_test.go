package docker

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/network"
)

// A network is created once and then left as it is; one of another
// driver is an error, and is not touched.
func TestNetworkEnsure(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.prefix + "-net"
	t.Cleanup(func() { e.c.NetworkRemove(context.WithoutCancel(t.Context()), name) })
	args := func() map[string]any {
		return map[string]any{"name": name, "internal": true, "labels": map[string]string{"team": "h1"}}
	}
	if resp := e.plan("network", args()); resp.NoOp || resp.Changes[0] != "create network "+name+" (bridge)" {
		t.Errorf("plan %+v", resp)
	}
	out := e.ok(e.run("network", args()))
	if !out.GetAttr("changed").True() || e.str(out, "name") != name {
		t.Fatalf("first run %#v", out.AsValueMap())
	}
	ins, err := e.c.NetworkInspect(t.Context(), name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ins.ID != e.str(out, "id") || ins.Driver != "bridge" || !ins.Internal || ins.Labels[labelManaged] != "true" || ins.Labels["team"] != "h1" {
		t.Errorf("network %+v", ins)
	}
	again := e.ok(e.run("network", args()))
	if again.GetAttr("changed").True() || e.str(again, "id") != ins.ID {
		t.Errorf("second run %#v", again.AsValueMap())
	}
	if resp := e.plan("network", args()); !resp.NoOp {
		t.Errorf("plan of an existing network %+v", resp)
	}
	other := args()
	other["driver"] = "macvlan"
	res := e.run("network", other)
	if msg := e.fails(res); res.Diagnostics[0].Summary != "Network driver differs" || !res.Diagnostics[0].Path.Equals(argPath("driver")) || !contains(msg, "exists with driver bridge, not macvlan") {
		t.Errorf("error %#v", res.Diagnostics)
	}
	if after, err := e.c.NetworkInspect(t.Context(), name, network.InspectOptions{}); err != nil || after.ID != ins.ID {
		t.Errorf("the network was touched: %v", err)
	}
}
