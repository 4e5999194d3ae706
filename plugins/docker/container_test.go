package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// appArgs are docker.container arguments of the example app on network
// (with the alias "web"), gated by http_check.
func appArgs(name, image, network string, env map[string]string) map[string]any {
	args := map[string]any{
		"name": name, "image": image, "env": env,
		"http_check": "8080/health", "ready_timeout": "5s", "stop_timeout": "2s",
	}
	if network != "" {
		args["networks"] = map[string][]string{network: {"web"}}
	}
	return args
}

// A container is created, found unchanged by a second run of the same
// spec, and started again when stopped; over the real wire.
func TestContainerCreateUnchanged(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	net, name := e.network(), e.name("web")
	tag, imageID := e.image()
	args := func() map[string]any {
		return appArgs(name, tag, net, map[string]string{"SERVICE": "web", "VERSION": "1"})
	}
	out := e.ok(e.run("container", args(), sdktest.OverGRPC()))
	if got := e.str(out, "action"); got != actionCreated || !out.GetAttr("changed").True() {
		t.Fatalf("first run: action %s, changed %v; want created, true", got, out.GetAttr("changed").True())
	}
	id := e.str(out, "id")
	if e.str(out, "image_id") != imageID || e.str(out, "previous_image_id") != "" || e.str(out, "name") != name {
		t.Errorf("outputs %#v", out.AsValueMap())
	}
	ins := e.inspect(name)
	if ins == nil || ins.ID != id || !ins.State.Running {
		t.Fatalf("container %s: %+v", name, ins)
	}
	labels := ins.Config.Labels
	sum := sha256.Sum256([]byte(labels[labelSpecJSON]))
	if labels[labelManaged] != "true" || labels[labelRole] != "current" || labels[labelStep] != "step.container" ||
		labels[labelSpec] != hex.EncodeToString(sum[:]) || labels[labelSpec] != e.str(out, "spec_hash") {
		t.Errorf("labels %v", labels)
	}
	var recorded spec
	if err := json.Unmarshal([]byte(labels[labelSpecJSON]), &recorded); err != nil || recorded.Image != imageID {
		t.Errorf("zrun.spec.json %s (%v): want the image's ID", labels[labelSpecJSON], err)
	}
	if ep := ins.NetworkSettings.Networks[net]; ep == nil || !slices.Contains(ep.Aliases, "web") {
		t.Errorf("not on %s with the alias web: %+v", net, ins.NetworkSettings.Networks)
	}
	if v := e.appVersion("http://" + e.ipOf(name, net) + ":8080"); v != "1" {
		t.Errorf("the container serves version %q", v)
	}

	out = e.ok(e.run("container", args(), sdktest.OverGRPC()))
	if e.str(out, "action") != actionUnchanged || out.GetAttr("changed").True() || e.str(out, "id") != id {
		t.Errorf("second run: %#v; want unchanged, the same container", out.AsValueMap())
	}

	stop := e.ok(e.run("stop", map[string]any{"container": name, "stop_timeout": "2s"}))
	if !stop.GetAttr("changed").True() {
		t.Fatal("docker.stop did not stop the container")
	}
	out = e.ok(e.run("container", args(), sdktest.OverGRPC()))
	if e.str(out, "action") != actionStarted || !out.GetAttr("changed").True() || e.str(out, "id") != id {
		t.Errorf("after a stop: %#v; want started, the same container", out.AsValueMap())
	}
	if ins := e.inspect(name); ins == nil || !ins.State.Running {
		t.Errorf("not running after started")
	}
}

// A changed env value replaces the container: a new one runs with the new
// value, the old one is kept (stopped, off the network), and the value
// shows nowhere but in the container's environment.
func TestContainerEnvReplaces(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	net, name := e.network(), e.name("api")
	tag, imageID := e.image()
	const secret1, secret2 = "h1-secret-value-one", "h1-secret-value-two"
	args := func(token string) map[string]any {
		return appArgs(name, tag, net, map[string]string{"SERVICE": "api", "VERSION": "1", "API_TOKEN": token})
	}
	first := e.run("container", args(secret1))
	id1 := e.str(e.ok(first), "id")

	plan := strings.Join(e.plan("container", args(secret2)).Changes, "\n")
	if want := "replace " + name + ":\n  env.API_TOKEN: changed"; plan != want {
		t.Errorf("plan:\n%s\nwant:\n%s", plan, want)
	}

	res := e.run("container", args(secret2))
	out := e.ok(res)
	if e.str(out, "action") != actionReplaced || !out.GetAttr("changed").True() || e.str(out, "previous_image_id") != imageID {
		t.Errorf("outputs %#v", out.AsValueMap())
	}
	id2 := e.str(out, "id")
	if id2 == id1 {
		t.Fatal("the container was not replaced")
	}
	e.gone(name+candidateSuffix, name+oldSuffix)
	e.kept(name, id1)
	ins := e.inspect(name)
	if ins == nil || ins.ID != id2 || !ins.State.Running {
		t.Fatalf("%s after the replacement: %+v", name, ins)
	}
	if !slices.Contains(ins.Config.Env, "API_TOKEN="+secret2) {
		t.Errorf("the new container's env %v lacks the new value", ins.Config.Env)
	}
	if ep := ins.NetworkSettings.Networks[net]; ep == nil || !slices.Contains(ep.Aliases, "web") {
		t.Errorf("the new container is not on %s with its alias: %+v", net, ins.NetworkSettings.Networks)
	}
	if v := e.appVersion("http://" + e.ipOf(name, net) + ":8080"); v != "1" {
		t.Errorf("the new container serves version %q", v)
	}
	labels := fmt.Sprint(ins.Config.Labels)
	shown := strings.Join(append(append(first.Logs, res.Logs...), plan, labels, res.Stdout, res.Stderr), "\n")
	for _, s := range []string{secret1, secret2} {
		if strings.Contains(shown, s) {
			t.Errorf("the env value %s shows in the plan, labels or logs:\n%s", s, shown)
		}
	}
}

// A new image that never becomes healthy fails the step within
// ready_timeout, saying why with the last probe's output and the
// container's log lines, and the old container serves throughout.
func TestContainerUnhealthyKeepsOld(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		gate      map[string]any
		want      []string
		timesOut  bool
		readyWait string
	}{
		"health_cmd": {
			gate: map[string]any{
				"health_cmd":      []string{"CMD", "/app", "-check", "http://127.0.0.1:8080/health"},
				"health_interval": "200ms", "health_timeout": "2s", "health_retries": 2,
			},
			want: []string{"is unhealthy (Docker's healthcheck)", "last health probe (exit 1): 500 Internal Server Error"},
		},
		"http_check": {
			gate:     map[string]any{"http_check": "8080/health"},
			want:     []string{"is not ready within 3s (ready_timeout)", "answered 500 Internal Server Error"},
			timesOut: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newCtrEnv(t)
			net, cname := e.network(), e.name("svc")
			good, _ := e.image()
			bad, _ := e.image("ENV UNHEALTHY=1")
			const secret = "h1-unhealthy-secret"
			args := func(image string) map[string]any {
				a := map[string]any{
					"name": cname, "image": image, "networks": map[string][]string{net: {"svc"}},
					"env": map[string]string{"VERSION": "1", "TOKEN": secret}, "ready_timeout": "3s", "stop_timeout": "2s",
				}
				for k, v := range tc.gate {
					a[k] = v
				}
				return a
			}
			old := e.str(e.ok(e.run("container", args(good))), "id")

			stop := e.hammer("http://" + e.ipOf(cname, net) + ":8080/")
			start := time.Now()
			msg := e.fails(e.run("container", args(bad)))
			took := time.Since(start)
			total, failed, first := stop()

			for _, w := range append(tc.want, "the new container failed its health gate and was removed", cname+" was not touched", "listening on :8080") {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, secret) {
				t.Errorf("the error shows an env value:\n%s", msg)
			}
			if took > 3*time.Second+4*time.Second || tc.timesOut && took < 3*time.Second {
				t.Errorf("the step failed after %s; ready_timeout is 3s", took)
			}
			if failed != 0 || total < 10 {
				t.Errorf("the old container answered %d of %d requests during the replacement (first failure: %s)", total-failed, total, first)
			}
			if ins := e.inspect(cname); ins == nil || ins.ID != old || !ins.State.Running {
				t.Errorf("the old container is not the one running as %s: %+v", cname, ins)
			}
			e.gone(cname + candidateSuffix)
			if kept, _ := keptContainers(t.Context(), e.c, cname); len(kept) != 0 {
				t.Errorf("a failed replacement kept %d containers", len(kept))
			}
		})
	}
}

// A spec that publishes a host port is replaced through step 5: the
// candidate proves the image, the old container frees the port, and a new
// one with the port serves the new version.
func TestContainerReplaceHostPort(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("edge")
	tag, _ := e.image()
	port := e.freePort()
	args := func(version string) map[string]any {
		a := appArgs(name, tag, "", map[string]string{"VERSION": version})
		a["ports"] = []string{fmt.Sprintf("127.0.0.1:%d:8080", port)}
		return a
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	id1 := e.str(e.ok(e.run("container", args("1"))), "id")
	if v := e.appVersion(base); v != "1" {
		t.Fatalf("the port serves version %q", v)
	}
	res := e.run("container", args("2"))
	out := e.ok(res)
	if e.str(out, "action") != actionReplaced || e.str(out, "id") == id1 {
		t.Fatalf("outputs %#v", out.AsValueMap())
	}
	if !slices.ContainsFunc(res.Logs, func(l string) bool { return strings.Contains(l, "to free its host ports") }) {
		t.Errorf("the replacement did not go through step 5: logs %q", res.Logs)
	}
	if v := e.appVersion(base); v != "2" {
		t.Errorf("after the replacement the port serves version %q", v)
	}
	e.gone(name+candidateSuffix, name+oldSuffix)
	e.kept(name, id1)
}

// When the new container with the host ports fails its gate (which a
// real image passing the candidate's gate cannot be made to do on cue:
// the gate is made to fail), it is removed and the old one is back,
// serving on the port.
func TestContainerHostPortRestoresOld(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("edge")
	tag, _ := e.image()
	port := e.freePort()
	a := containerArgs{
		Name: name, Image: tag, Env: map[string]string{"VERSION": "1"},
		Ports: []string{fmt.Sprintf("127.0.0.1:%d:8080", port)}, HTTPCheck: ctrPtr("8080/health"),
		ReadyTimeout: ctrPtr("5s"), StopTimeout: ctrPtr("2s"),
	}
	ui := e.ui("step.edge")
	out, err := runContainer(t.Context(), e.withSocket(a), ui)
	if err != nil {
		t.Fatal(err)
	}
	a.Env = map[string]string{"VERSION": "2"}
	d := e.deployment(a, ui)
	gate := d.gate
	var gated []string
	d.gate = func(ctx context.Context, id, n string) error {
		gated = append(gated, n)
		if n == name {
			return fmt.Errorf("injected failure")
		}
		return gate(ctx, id, n)
	}
	_, err = d.run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "the old container is back as "+name) {
		t.Fatalf("error %v", err)
	}
	if want := []string{name + candidateSuffix, name}; !cmp.Equal(gated, want) {
		t.Errorf("gated %q, want %q", gated, want)
	}
	if ins := e.inspect(name); ins == nil || ins.ID != out.ID || !ins.State.Running {
		t.Fatalf("the old container is not back as %s: %+v", name, ins)
	}
	if v := e.appVersion(fmt.Sprintf("http://127.0.0.1:%d", port)); v != "1" {
		t.Errorf("the port serves version %q", v)
	}
	e.gone(name+candidateSuffix, name+oldSuffix)
}

// An image the engine lacks and cannot pull is an error at the image
// argument, and nothing is created.
func TestContainerImageMissing(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("web")
	for _, ref := range []string{"h1-missing.invalid/app:1", "sha256:" + strings.Repeat("0", 64)} {
		res := e.run("container", map[string]any{"name": name, "image": ref})
		msg := e.fails(res)
		if d := res.Diagnostics[0]; d.Summary != "Image not found" || !d.Path.Equals(argPath("image")) || !strings.Contains(msg, ref) {
			t.Errorf("%s: %#v", ref, res.Diagnostics)
		}
	}
	e.gone(name)
}

// A container that exits fails the gate at once, saying how, with its log
// lines, and is removed; one without any check must stay up 2 s.
func TestContainerGateExit(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args map[string]any
		want []string // in the error; none: the step succeeds
	}{
		"exits":          {args: map[string]any{"command": []string{"-check", "http://127.0.0.1:1/"}}, want: []string{"exited with code 1 before it was ready", "connection refused"}},
		"restarts":       {args: map[string]any{"command": []string{"-check", "http://127.0.0.1:1/"}, "restart": "always"}, want: []string{"restart", "connection refused"}},
		"no check, runs": {args: map[string]any{}},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			e := newCtrEnv(t)
			name := e.name("job")
			tag, _ := e.image()
			args := map[string]any{"name": name, "image": tag, "ready_timeout": "5s", "stop_timeout": "1s"}
			for k, v := range tc.args {
				args[k] = v
			}
			start := time.Now()
			res := e.run("container", args)
			if len(tc.want) == 0 {
				e.ok(res)
				if took := time.Since(start); took < gateSteady {
					t.Errorf("ready after %s, before it stayed up %s", took, gateSteady)
				}
				return
			}
			msg := e.fails(res)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("the gate took %s to see the container exit", took)
			}
			e.gone(name)
		})
	}
}

// Two replacements with keep_releases = 1 leave exactly one kept
// container, the newest, stopped, restart "no", on no network (the
// daemon lists no endpoint of it), which neither the next run nor the
// plan takes for NAME or a leftover; keep_releases = 0 keeps none.
func TestContainerKeepReleases(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	net, name := e.network(), e.name("web")
	tag, _ := e.image()
	args := func(version string, keep int) map[string]any {
		a := appArgs(name, tag, net, map[string]string{"VERSION": version})
		a["restart"] = "always"
		a["keep_releases"] = keep
		return a
	}
	id1 := e.str(e.ok(e.run("container", args("1", 1))), "id")
	id2 := e.str(e.ok(e.run("container", args("2", 1))), "id")
	res := e.run("container", args("3", 1))
	id3 := e.str(e.ok(res), "id")

	kept, err := keptContainers(t.Context(), e.c, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0].ID != id2 {
		t.Fatalf("kept %d containers (%v); want only the second, %s; logs %q", len(kept), keptIDs(kept), shortID(id2), res.Logs)
	}
	e.kept(name, id2)
	e.gone(id1)
	nw, err := e.c.NetworkInspect(t.Context(), net, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ep, ok := nw.Containers[id2]; ok {
		t.Errorf("network %s still has an endpoint of the kept container: %+v", net, ep)
	}
	if _, ok := nw.Containers[id3]; !ok {
		t.Errorf("network %s has no endpoint of the current container: %+v", net, nw.Containers)
	}

	if out := e.ok(e.run("container", args("3", 1))); e.str(out, "action") != actionUnchanged || e.str(out, "id") != id3 {
		t.Errorf("the next run of the same spec: %#v; want unchanged, %s", out.AsValueMap(), shortID(id3))
	}
	if plan := e.plan("container", args("3", 1)); !plan.NoOp || !cmp.Equal(plan.Changes, []string{"unchanged " + name}) {
		t.Errorf("plan %q, want unchanged", plan.Changes)
	}
	e.kept(name, id2)

	e.ok(e.run("container", args("4", 0)))
	if kept, _ := keptContainers(t.Context(), e.c, name); len(kept) != 0 {
		t.Errorf("keep_releases = 0 kept %v", keptIDs(kept))
	}
	e.gone(id2, id3)
}

// keptIDs are the kept containers' names.
func keptIDs(kept []container.InspectResponse) []string {
	ids := make([]string, len(kept))
	for i, k := range kept {
		ids[i] = k.Name[1:]
	}
	return ids
}
