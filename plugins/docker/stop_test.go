package docker

import (
	"testing"
)

// Stopping or removing a missing container changes nothing; a running
// one is stopped once, started again through the health gate (a missing
// one cannot be), and removed only with force.
func TestStopRemove(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("web")
	tag, _ := e.image()
	changed := func(action string, args map[string]any) bool {
		t.Helper()
		return e.ok(e.run(action, args)).GetAttr("changed").True()
	}
	if changed("stop", map[string]any{"container": name}) || changed("remove", map[string]any{"container": name}) {
		t.Error("a missing container changed")
	}
	if resp := e.plan("remove", map[string]any{"container": name}); !resp.NoOp || resp.Changes[0] != name+" does not exist" {
		t.Errorf("plan %+v", resp)
	}
	e.ok(e.run("container", appArgs(name, tag, "", nil)))
	if resp := e.plan("stop", map[string]any{"container": name}); resp.NoOp || resp.Changes[0] != "stop "+name {
		t.Errorf("plan %+v", resp)
	}
	if !changed("stop", map[string]any{"container": name, "stop_timeout": "2s"}) {
		t.Error("stop did not stop the running container")
	}
	if ins := e.inspect(name); ins == nil || ins.State.Running {
		t.Fatalf("still running: %+v", ins)
	}
	if changed("stop", map[string]any{"container": name}) {
		t.Error("stopping a stopped container changed it")
	}
	if resp := e.plan("start", map[string]any{"container": name}); resp.NoOp || resp.Changes[0] != "start "+name {
		t.Errorf("plan %+v", resp)
	}
	if !changed("start", map[string]any{"container": name, "ready_timeout": "20s"}) {
		t.Error("start did not start the stopped container")
	}
	if ins := e.inspect(name); ins == nil || !ins.State.Running {
		t.Fatalf("started, but not running: %+v", ins)
	}
	if changed("start", map[string]any{"container": name}) {
		t.Error("starting a running container changed it")
	}
	res := e.run("start", map[string]any{"container": name + "-missing"})
	if e.fails(res); res.Diagnostics[0].Summary != "No such container" {
		t.Errorf("start of a missing container: %#v", res.Diagnostics)
	}
	res = e.run("remove", map[string]any{"container": name})
	if e.fails(res); res.Diagnostics[0].Summary != "Container is running" || !res.Diagnostics[0].Path.Equals(argPath("force")) {
		t.Errorf("remove without force: %#v", res.Diagnostics)
	}
	if e.inspect(name) == nil {
		t.Fatal("remove without force removed the running container")
	}
	if !changed("remove", map[string]any{"container": name, "force": true}) {
		t.Error("remove with force changed nothing")
	}
	e.gone(name)
	if changed("remove", map[string]any{"container": name}) {
		t.Error("removing a removed container changed it")
	}
}
