package docker

import (
	"context"
	"testing"
)

// A volume is created once and then left as it is; one of another
// driver is an error.
func TestVolumeEnsure(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.prefix + "-data"
	t.Cleanup(func() { e.c.VolumeRemove(context.WithoutCancel(t.Context()), name, true) })
	args := func() map[string]any { return map[string]any{"name": name, "labels": map[string]string{"team": "h1"}} }
	if resp := e.plan("volume", args()); resp.NoOp || resp.Changes[0] != "create volume "+name+" (local)" {
		t.Errorf("plan %+v", resp)
	}
	out := e.ok(e.run("volume", args()))
	if !out.GetAttr("changed").True() || e.str(out, "name") != name {
		t.Fatalf("first run %#v", out.AsValueMap())
	}
	v, err := e.c.VolumeInspect(t.Context(), name)
	if err != nil || v.Driver != "local" || v.Labels[labelManaged] != "true" || v.Labels["team"] != "h1" {
		t.Fatalf("volume %+v (%v)", v, err)
	}
	if again := e.ok(e.run("volume", args())); again.GetAttr("changed").True() {
		t.Errorf("second run changed it")
	}
	if resp := e.plan("volume", args()); !resp.NoOp {
		t.Errorf("plan of an existing volume %+v", resp)
	}
	other := args()
	other["driver"] = "h1-nosuchdriver"
	res := e.run("volume", other)
	if msg := e.fails(res); res.Diagnostics[0].Summary != "Volume driver differs" || !contains(msg, "exists with driver local, not h1-nosuchdriver") {
		t.Errorf("error %#v", res.Diagnostics)
	}
}
