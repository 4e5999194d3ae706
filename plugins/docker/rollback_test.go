package docker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// A rollback to the release before the current one starts its kept
// container: the exact env of that release (a value that differs between
// the two), its restart policy and its alias are back, and the replaced container is kept in
// turn. Rolling back again to the same release changes nothing. Over the
// real wire.
func TestRollbackReleases(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	net, name := e.network(), e.name("api")
	tagA, idA := e.image()
	tagB, idB := e.image("LABEL h4.variant=b")
	const secret1, secret2 = "h4-rollback-secret-one", "h4-rollback-secret-two"
	deploy := func(tag, version, token string) string {
		a := appArgs(name, tag, net, map[string]string{"VERSION": version, "API_TOKEN": token})
		a["restart"] = "unless-stopped"
		return e.str(e.ok(e.run("container", a)), "id")
	}
	id1 := deploy(tagA, "1", secret1)
	env1 := e.inspect(name).Config.Env
	id2 := deploy(tagB, "2", secret2)
	releases := []release{
		{ID: "run-2", Workflow: "deploy", Version: "2", Images: map[string]string{name: idB, "other": idB}},
		{ID: "run-1", Workflow: "deploy", Version: "1", Images: map[string]string{name: idA}},
	}
	args := func() map[string]any {
		return map[string]any{"name": name, "releases": releases, "http_check": "8080/health", "ready_timeout": "5s"}
	}

	plan := e.plan("rollback", args())
	want := []string{
		"roll back " + name + " to sha256:" + shortID(idA) + " (release run-1)",
		"  from its kept container " + keepName(name, id1) + "; " + name + " (sha256:" + shortID(idB) + ") is kept in turn",
	}
	if diff := cmp.Diff(want, plan.Changes); diff != "" || plan.NoOp {
		t.Errorf("plan (-want +got):\n%s", diff)
	}

	res := e.run("rollback", args(), sdktest.OverGRPC())
	out := e.ok(res)
	if e.str(out, "action") != actionRolledBack || !out.GetAttr("changed").True() || e.str(out, "id") != id1 ||
		e.str(out, "image_id") != idA || e.str(out, "previous_image_id") != idB || e.str(out, "name") != name {
		t.Errorf("outputs %#v", out.AsValueMap())
	}
	ins := e.inspect(name)
	if ins == nil || ins.ID != id1 || !ins.State.Running {
		t.Fatalf("%s is not the first release's container running: %+v", name, ins)
	}
	if !cmp.Equal(ins.Config.Env, env1) || !slices.Contains(ins.Config.Env, "API_TOKEN="+secret1) {
		t.Errorf("env %v, want the first release's %v", ins.Config.Env, env1)
	}
	if e.str(out, "spec_hash") != ins.Config.Labels[labelSpec] {
		t.Errorf("spec_hash %s, the container's %s", e.str(out, "spec_hash"), ins.Config.Labels[labelSpec])
	}
	if ep := ins.NetworkSettings.Networks[net]; ep == nil || !slices.Contains(ep.Aliases, "web") {
		t.Errorf("%s is not on %s with its alias: %+v", name, net, ins.NetworkSettings.Networks)
	}
	if ins.HostConfig.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("restart policy %q, want its spec's unless-stopped back", ins.HostConfig.RestartPolicy.Name)
	}
	if v := e.appVersion("http://" + e.ipOf(name, net) + ":8080"); v != "1" {
		t.Errorf("%s serves version %q", name, v)
	}
	e.kept(name, id2)
	e.gone(keepName(name, id1), name+candidateSuffix, name+oldSuffix)
	shown := strings.Join(append(res.Logs, plan.Changes...), "\n")
	if strings.Contains(shown, secret1) || strings.Contains(shown, secret2) {
		t.Errorf("an env value shows in the logs or the plan:\n%s", shown)
	}

	again := e.ok(e.run("rollback", args()))
	if e.str(again, "action") != actionUnchanged || again.GetAttr("changed").True() || e.str(again, "id") != id1 {
		t.Errorf("the same rollback again: %#v; want unchanged", again.AsValueMap())
	}
	if plan := e.plan("rollback", args()); !plan.NoOp {
		t.Errorf("plan of the same rollback again %q; want a no-op", plan.Changes)
	}
}

// image_id rolls back without releases (as a failed deploy's on_failure
// would, with previous_image_id); check = true before it changes nothing.
func TestRollbackImageID(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	net, name := e.network(), e.name("api")
	tagA, idA := e.image()
	tagB, idB := e.image("LABEL h4.variant=b")
	id1 := e.str(e.ok(e.run("container", appArgs(name, tagA, net, map[string]string{"VERSION": "1"}))), "id")
	out := e.ok(e.run("container", appArgs(name, tagB, net, map[string]string{"VERSION": "2"})))
	id2, prev := e.str(out, "id"), e.str(out, "previous_image_id")
	if prev != idA {
		t.Fatalf("previous_image_id %s, want %s", prev, idA)
	}
	args := func(check bool) map[string]any {
		return map[string]any{"name": name, "image_id": prev, "check": check, "ready_timeout": "5s"}
	}

	before := e.snapshot(name)
	checked := e.ok(e.run("rollback", args(true)))
	if e.str(checked, "action") != actionUnchanged || checked.GetAttr("changed").True() || e.str(checked, "id") != id2 || e.str(checked, "image_id") != idB {
		t.Errorf("check: outputs %#v; want unchanged, the current container", checked.AsValueMap())
	}
	if after := e.snapshot(name); !cmp.Equal(before, after) {
		t.Errorf("check = true changed the containers (-before +after):\n%s", cmp.Diff(before, after))
	}
	if plan := e.plan("rollback", args(true)); !plan.NoOp || !strings.HasPrefix(plan.Changes[0], "check that it can roll back "+name+" to sha256:"+shortID(idA)) {
		t.Errorf("plan with check: %q (NoOp %v)", plan.Changes, plan.NoOp)
	}

	out = e.ok(e.run("rollback", args(false)))
	if e.str(out, "action") != actionRolledBack || e.str(out, "id") != id1 || e.str(out, "previous_image_id") != idB {
		t.Errorf("outputs %#v", out.AsValueMap())
	}
	if v := e.appVersion("http://" + e.ipOf(name, net) + ":8080"); v != "1" {
		t.Errorf("%s serves version %q", name, v)
	}
	e.kept(name, id2)
}

// Each refusal fails before anything changes, naming the release, the
// container and the image; the plan refuses the same.
func TestRollbackRefusals(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	net, name := e.network(), e.name("api")
	tagA, idA := e.image()
	tagB, idB := e.image("LABEL h4.variant=b")
	_, idC := e.image("LABEL h4.variant=c")
	e.ok(e.run("container", appArgs(name, tagA, net, map[string]string{"VERSION": "1"})))
	e.ok(e.run("container", appArgs(name, tagB, net, map[string]string{"VERSION": "2"})))
	r2 := release{ID: "run-2", Workflow: "deploy", EndedAt: "2026-12-01T10:00:00Z", Images: map[string]string{name: idB}}
	r1 := release{ID: "run-1", Workflow: "deploy", EndedAt: "2026-12-01T09:00:00Z", Images: map[string]string{name: idA}}

	tests := map[string]struct {
		releases []release
		release  string
		want     []string
	}{
		"release not found": {
			releases: []release{r2, r1}, release: "run-9",
			want: []string{"Release not found", "Cannot roll back " + name + ": no release run-9 in test: `zrun releases --env test` lists them"},
		},
		"no release before the current": {
			releases: []release{r2},
			want:     []string{"No earlier release", "Cannot roll back " + name + ": test has no release before the current one (the current one is run-2)"},
		},
		"release did not deploy it": {
			releases: []release{r2, {ID: "run-1", Workflow: "deploy", Images: map[string]string{"h4-other": idA}}},
			want:     []string{"Cannot roll back " + name + ": release run-1 (deploy, ) did not deploy it; it deployed h4-other"},
		},
		"no kept container of the image": {
			releases: []release{r2, {ID: "run-1", Workflow: "deploy", Images: map[string]string{name: idC}}},
			want: []string{"No kept container of that image", "Cannot roll back " + name + " to sha256:" + shortID(idC) + " (release run-1)",
				"no kept container of " + name + " runs image " + idC, "older than keep_releases", "sha256:" + shortID(idA)},
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			args := map[string]any{"name": name, "releases": tc.releases, "release": tc.release, "ready_timeout": "5s"}
			before := e.snapshot(name)
			msg := e.fails(e.run("rollback", args))
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if after := e.snapshot(name); !cmp.Equal(before, after) {
				t.Errorf("the refused rollback changed the containers (-before +after):\n%s", cmp.Diff(before, after))
			}
			if _, err := e.planErr("rollback", args); err == nil || !strings.Contains(err.Error(), tc.want[len(tc.want)-1]) {
				t.Errorf("plan: %v; want the refusal", err)
			}
		})
	}
}

// A rollback of a container that publishes a host port ends serving the
// old version on that port, and keeps the replaced one.
func TestRollbackHostPort(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("edge")
	tagA, _ := e.image()
	tagB, _ := e.image("LABEL h4.variant=b")
	port := e.freePort()
	deploy := func(tag, version string) string {
		a := appArgs(name, tag, "", map[string]string{"VERSION": version})
		a["ports"] = []string{fmt.Sprintf("127.0.0.1:%d:8080", port)}
		return e.str(e.ok(e.run("container", a)), "id")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	id1 := deploy(tagA, "1")
	id2 := deploy(tagB, "2")
	if v := e.appVersion(base); v != "2" {
		t.Fatalf("the port serves version %q before the rollback", v)
	}
	prev := e.inspect(keepName(name, id1)).Image
	res := e.run("rollback", map[string]any{"name": name, "image_id": prev, "http_check": "8080/health", "ready_timeout": "5s"})
	out := e.ok(res)
	if e.str(out, "action") != actionRolledBack || e.str(out, "id") != id1 {
		t.Fatalf("outputs %#v", out.AsValueMap())
	}
	if !slices.ContainsFunc(res.Logs, func(l string) bool { return strings.Contains(l, "to free its host ports") }) {
		t.Errorf("the rollback did not stop the current container first: logs %q", res.Logs)
	}
	if v := e.appVersion(base); v != "1" {
		t.Errorf("after the rollback the port serves version %q", v)
	}
	e.kept(name, id2)
	e.gone(name + oldSuffix)
}

// A kept container that fails the gate when it is started again (a
// release that passed its own gate only by staying up, checked now with
// http_check) is kept again, and the current container serves
// throughout (without host ports a GET every 20 ms sees no failure) or
// is back on the port.
func TestRollbackGateFails(t *testing.T) {
	t.Parallel()
	for _, hostPort := range []bool{false, true} {
		t.Run(fmt.Sprintf("host port %v", hostPort), func(t *testing.T) {
			t.Parallel()
			e := newCtrEnv(t)
			net, name := e.network(), e.name("svc")
			tagA, idA := e.image()
			tagB, _ := e.image("LABEL h4.variant=b")
			port := e.freePort()
			deploy := func(tag string, env map[string]string, check bool) string {
				a := appArgs(name, tag, net, env)
				if !check {
					delete(a, "http_check") // the bad release passes by staying up 2 s
				}
				if hostPort {
					a["ports"] = []string{fmt.Sprintf("127.0.0.1:%d:8080", port)}
				}
				return e.str(e.ok(e.run("container", a)), "id")
			}
			id1 := deploy(tagA, map[string]string{"VERSION": "1", "UNHEALTHY": "1"}, false)
			id2 := deploy(tagB, map[string]string{"VERSION": "2"}, true)

			url := "http://" + e.ipOf(name, net) + ":8080/"
			if hostPort {
				url = fmt.Sprintf("http://127.0.0.1:%d/", port)
			}
			var stop func() (int64, int64, string)
			if !hostPort {
				stop = e.hammer(url)
			}
			start := time.Now()
			msg := e.fails(e.run("rollback", map[string]any{"name": name, "image_id": idA, "http_check": "8080/health", "ready_timeout": "2s"}))
			took := time.Since(start)
			if !hostPort {
				total, failed, first := stop()
				if failed != 0 || total < 10 {
					t.Errorf("the current container answered %d of %d requests during the rollback (first failure: %s)", total-failed, total, first)
				}
			}
			for _, w := range []string{"failed its health gate", "the kept container was stopped and kept again as " + keepName(name, id1), "answered 500 Internal Server Error"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if took > 12*time.Second {
				t.Errorf("the rollback failed after %s; ready_timeout is 2s", took)
			}
			if ins := e.inspect(name); ins == nil || ins.ID != id2 || !ins.State.Running {
				t.Fatalf("the current container is not %s running: %+v", name, ins)
			}
			if v := e.appVersion(strings.TrimSuffix(url, "/")); v != "2" {
				t.Errorf("%s serves version %q after the failed rollback", url, v)
			}
			e.kept(name, id1)
			e.gone(name+oldSuffix, name+candidateSuffix)
		})
	}
}

// snapshot is NAME's container and its kept ones: name => ID, running.
func (e *ctrEnv) snapshot(name string) map[string]string {
	e.t.Helper()
	all, err := keptContainers(e.t.Context(), e.c, name)
	if err != nil {
		e.t.Fatal(err)
	}
	if cur := e.inspect(name); cur != nil {
		all = append(all, *cur)
	}
	snap := map[string]string{}
	for _, ins := range all {
		snap[ins.Name] = fmt.Sprintf("%s running=%v restart=%s networks=%d", shortID(ins.ID), ins.State.Running, ins.HostConfig.RestartPolicy.Name, len(ins.NetworkSettings.Networks))
	}
	return snap
}

// Arguments that cannot go together, or zrun's own names, are errors at
// the argument, before anything runs.
func TestRollbackValidate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		action string
		args   map[string]any
		path   string
		want   string
	}{
		"image_id and release": {
			action: "rollback", args: map[string]any{"name": "web", "image_id": "sha256:" + strings.Repeat("a", 64), "release": "run-1"},
			path: "image_id", want: "Conflicting arguments",
		},
		"image_id and releases": {
			action: "rollback", args: map[string]any{"name": "web", "image_id": "sha256:" + strings.Repeat("a", 64), "releases": []release{}},
			path: "image_id", want: "Conflicting arguments",
		},
		"a kept name": {
			action: "rollback", args: map[string]any{"name": "web--zrun-kept-0123456789ab", "image_id": "x"},
			path: "name", want: "Reserved container name",
		},
		"http_check": {
			action: "rollback", args: map[string]any{"name": "web", "image_id": "x", "http_check": "health"},
			path: "http_check", want: "Invalid http_check",
		},
		"negative keep_releases": {
			action: "container", args: map[string]any{"name": "web", "image": "x", "keep_releases": -1},
			path: "keep_releases", want: "Invalid keep_releases",
		},
		"a kept name for a container": {
			action: "container", args: map[string]any{"name": "web--zrun-kept-0123456789ab", "image": "x"},
			path: "name", want: "Reserved container name",
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			res := sdktest.Run(t, Plugin(), tc.action, tc.args)
			if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != tc.want || !res.Diagnostics[0].Path.Equals(argPath(tc.path)) {
				t.Errorf("diagnostics %#v; want one %q at %s", res.Diagnostics, tc.want, tc.path)
			}
		})
	}
}

// The default goes back from the current state: rollbacks in a row keep
// going back instead of flipping between the last two releases.
func TestPreviousRelease(t *testing.T) {
	t.Parallel()
	rel := func(id, restores string) release { return release{ID: id, Restores: restores} }
	for _, tc := range []struct {
		name string
		rels []release
		want string // "" for an error
	}{
		{"after two deploys", []release{rel("d2", ""), rel("d1", "")}, "d1"},
		{"after a rollback", []release{rel("r1", "d2"), rel("d3", ""), rel("d2", ""), rel("d1", "")}, "d1"},
		{"after two rollbacks", []release{rel("r2", "d1"), rel("r1", "d2"), rel("d3", ""), rel("d2", ""), rel("d1", ""), rel("d0", "")}, "d0"},
		{"a deploy after a rollback", []release{rel("d4", ""), rel("r1", "d2"), rel("d3", ""), rel("d2", "")}, "r1"},
		{"rolled back to the oldest", []release{rel("r1", "d1"), rel("d2", ""), rel("d1", "")}, ""},
		{"restored release gone from the list", []release{rel("r1", "d0"), rel("d2", ""), rel("d1", "")}, "d2"},
		{"a restore that is not older", []release{rel("r1", "r1"), rel("d1", "")}, "d1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, err := previousRelease(tc.rels)
			got := ""
			if err == nil {
				got = tc.rels[i].ID
			}
			if got != tc.want {
				t.Errorf("previousRelease = %q (err %v), want %q", got, err, tc.want)
			}
		})
	}
}
