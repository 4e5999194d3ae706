package docker

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// handoverArgs are the example app's docker.container arguments with a host
// port Docker picks and handover on.
func handoverArgs(name, image, version string) map[string]any {
	a := appArgs(name, image, "", map[string]string{"VERSION": version})
	a["ports"] = []string{"127.0.0.1::8080"}
	a["handover"] = true
	return a
}

// With handover the new container serves at an address of its own while
// the old one goes on serving at its own, until docker.retire; a run of the
// same spec before the retire finds the handover pending and says so again.
func TestContainerHandover(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("api")
	tag, _ := e.image()

	out := e.ok(e.run("container", handoverArgs(name, tag, "1")))
	id1, addr1 := e.str(out, "id"), e.str(out, "address")
	if e.str(out, "action") != actionCreated || !strings.HasPrefix(addr1, "127.0.0.1:") || e.str(out, "previous_address") != "" {
		t.Fatalf("first run: outputs %#v", out.AsValueMap())
	}
	if p := out.GetAttr("ports").Index(cty.StringVal("8080/tcp")).AsString(); p != addr1 {
		t.Errorf("ports[8080/tcp] = %q, want the address %q", p, addr1)
	}
	if v := e.appVersion("http://" + addr1); v != "1" {
		t.Fatalf("%s serves version %q", addr1, v)
	}

	out = e.ok(e.run("container", handoverArgs(name, tag, "2")))
	id2, addr2 := e.str(out, "id"), e.str(out, "address")
	if e.str(out, "action") != actionReplaced || id2 == id1 || addr2 == addr1 || e.str(out, "previous_address") != addr1 {
		t.Fatalf("second run: outputs %#v (first address %s)", out.AsValueMap(), addr1)
	}
	if v := e.appVersion("http://" + addr2); v != "2" {
		t.Errorf("the new container at %s serves version %q", addr2, v)
	}
	if v := e.appVersion("http://" + addr1); v != "1" {
		t.Errorf("the old container at %s serves version %q, want it still serving 1", addr1, v)
	}
	if old := e.inspect(name + oldSuffix); old == nil || old.ID != id1 || !old.State.Running {
		t.Fatalf("the old container: %+v; want %s running as %s", old, shortID(id1), name+oldSuffix)
	}

	// The proxy step failed, say, and the deploy runs again: same answer.
	out = e.ok(e.run("container", handoverArgs(name, tag, "2")))
	if e.str(out, "id") != id2 || e.str(out, "address") != addr2 || e.str(out, "previous_address") != addr1 {
		t.Fatalf("a run with the handover pending: outputs %#v", out.AsValueMap())
	}

	out = e.ok(e.run("retire", map[string]any{"name": name, "drain": "100ms"}))
	if !out.GetAttr("changed").True() || e.str(out, "retired") != id1 || e.str(out, "kept") != keepName(name, id1) {
		t.Fatalf("retire: outputs %#v", out.AsValueMap())
	}
	e.kept(name, id1)
	e.gone(name + oldSuffix)
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get("http://" + addr1 + "/"); err == nil {
		resp.Body.Close()
		t.Errorf("the retired container's address %s still answers", addr1)
	}
	if v := e.appVersion("http://" + addr2); v != "2" {
		t.Errorf("after the retire %s serves version %q", addr2, v)
	}
	if out := e.ok(e.run("retire", map[string]any{"name": name})); out.GetAttr("changed").True() {
		t.Errorf("a second retire changed something: %#v", out.AsValueMap())
	}
	out = e.ok(e.run("container", handoverArgs(name, tag, "2")))
	if e.str(out, "action") != actionUnchanged || e.str(out, "previous_address") != "" {
		t.Errorf("after the retire: outputs %#v", out.AsValueMap())
	}
}

// docker.reinstate undoes a handover: the new container goes, the old one,
// which never stopped serving, has its name back.
func TestContainerReinstate(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("api")
	tag, _ := e.image()
	out := e.ok(e.run("container", handoverArgs(name, tag, "1")))
	id1, addr1 := e.str(out, "id"), e.str(out, "address")
	id2 := e.str(e.ok(e.run("container", handoverArgs(name, tag, "2"))), "id")

	stop := e.hammer("http://" + addr1 + "/")
	out = e.ok(e.run("reinstate", map[string]any{"name": name}))
	total, failed, first := stop()
	if !out.GetAttr("changed").True() {
		t.Fatalf("reinstate: outputs %#v", out.AsValueMap())
	}
	if failed > 0 {
		t.Errorf("%d of %d requests to the old container failed while it was reinstated; the first: %s", failed, total, first)
	}
	if ins := e.inspect(name); ins == nil || ins.ID != id1 || !ins.State.Running {
		t.Fatalf("%s after reinstate: %+v; want %s running", name, ins, shortID(id1))
	}
	e.gone(name+oldSuffix, id2)
	if out := e.ok(e.run("reinstate", map[string]any{"name": name})); out.GetAttr("changed").True() {
		t.Errorf("a second reinstate changed something")
	}
}

// Handover needs a host port Docker picks: a fixed one is refused before
// anything runs.
func TestContainerHandoverFixedPort(t *testing.T) {
	a := containerArgs{Name: "web", Image: "app:1", Ports: []string{"8080:8080"}, Handover: ctrPtr(true)}
	_, diags := parseContainer(a, sdk.Known{})
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), `127.0.0.1::8080`) {
		t.Fatalf("diagnostics %v; want one saying to leave the host port to Docker", err)
	}
	a.Ports = []string{"127.0.0.1::8080"}
	if _, diags := parseContainer(a, sdk.Known{}); diags.HasErrors() {
		t.Fatalf("an ephemeral port with handover: %v", diags.Err())
	}
}

// A rollback with handover goes the same way as a deploy: the kept
// container serves at an address of its own beside the current one, until
// docker.retire; no request to either fails meanwhile.
func TestRollbackHandover(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("api")
	tagA, idA := e.image()
	tagB, _ := e.image("LABEL h4.variant=b")
	id1 := e.str(e.ok(e.run("container", handoverArgs(name, tagA, "1"))), "id")
	out := e.ok(e.run("container", handoverArgs(name, tagB, "2")))
	id2, addr2 := e.str(out, "id"), e.str(out, "address")
	e.ok(e.run("retire", map[string]any{"name": name, "drain": "0s"}))

	stop := e.hammer("http://" + addr2 + "/")
	out = e.ok(e.run("rollback", map[string]any{"name": name, "image_id": idA, "ready_timeout": "5s", "handover": true}))
	total, failed, first := stop()
	addr1 := e.str(out, "address")
	if e.str(out, "action") != actionRolledBack || e.str(out, "id") != id1 || e.str(out, "previous_address") != addr2 || addr1 == "" || addr1 == addr2 {
		t.Fatalf("rollback: outputs %#v", out.AsValueMap())
	}
	if failed > 0 {
		t.Errorf("%d of %d requests to the current container failed during the rollback; the first: %s", failed, total, first)
	}
	if v := e.appVersion("http://" + addr1); v != "1" {
		t.Errorf("the container rolled back to serves version %q at %s", v, addr1)
	}
	if v := e.appVersion("http://" + addr2); v != "2" {
		t.Errorf("the current container stopped serving before docker.retire: version %q", v)
	}
	e.ok(e.run("retire", map[string]any{"name": name, "drain": "0s"}))
	e.kept(name, id2)
}
