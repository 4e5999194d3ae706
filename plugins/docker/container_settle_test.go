package docker

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// What a kill -9 mid-replacement leaves, made by hand, converges on the
// next run: one container called NAME, of the spec, running, and no
// candidate or old container beside it.
func TestContainerLeftovers(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		// leave makes what the interrupted run left, from NAME of spec v1
		// (id1); it returns the ID of a NAME it made, if any.
		leave func(e *ctrEnv, name, tag, id1 string) string
		spec  string // the spec of the next run: v1 or v2
		want  string // its action
		// wantNew: NAME is then the container leave made, else id1.
		wantNew bool
	}{
		"old swapped out, candidate left": {
			leave: func(e *ctrEnv, name, tag, id1 string) string {
				e.rename(id1, name+oldSuffix)
				e.handMade(name+candidateSuffix, tag, map[string]string{labelManaged: "true", labelRole: "candidate"})
				return ""
			},
			spec: "v1", want: actionUnchanged,
		},
		"old swapped out and stopped": {
			leave: func(e *ctrEnv, name, tag, id1 string) string {
				e.rename(id1, name+oldSuffix)
				if err := e.c.ContainerStop(e.t.Context(), id1, container.StopOptions{}); err != nil {
					e.t.Fatal(err)
				}
				return ""
			},
			spec: "v1", want: actionStarted,
		},
		"new made, old not removed": {
			leave: func(e *ctrEnv, name, tag, id1 string) string {
				e.rename(id1, name+oldSuffix)
				return e.madeBy(name, tag, "2")
			},
			spec: "v2", want: actionReplaced, wantNew: true,
		},
		"new of a spec no longer wanted": {
			leave: func(e *ctrEnv, name, tag, id1 string) string {
				e.rename(id1, name+oldSuffix)
				return e.madeBy(name, tag, "2")
			},
			spec: "v1", want: actionUnchanged,
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			e := newCtrEnv(t)
			net, name := e.network(), e.name("svc")
			tag, imageID := e.image()
			args := func(version string) map[string]any {
				return appArgs(name, tag, net, map[string]string{"VERSION": version})
			}
			id1 := e.str(e.ok(e.run("container", args("1"))), "id")
			made := tc.leave(e, name, tag, id1)

			res := e.run("container", args(strings.TrimPrefix(tc.spec, "v")))
			out := e.ok(res)
			if got := e.str(out, "action"); got != tc.want {
				t.Errorf("action %s, want %s; logs %q", got, tc.want, res.Logs)
			}
			want := id1
			if tc.wantNew {
				want = made
				if e.str(out, "previous_image_id") != imageID {
					t.Errorf("previous_image_id %q, want %s", e.str(out, "previous_image_id"), imageID)
				}
			}
			ins := e.inspect(name)
			if ins == nil || ins.ID != want || e.str(out, "id") != want || !ins.State.Running {
				t.Fatalf("%s is not the container wanted (%s) running: %+v", name, want, ins)
			}
			if v := e.appVersion("http://" + e.ipOf(name, net) + ":8080"); "v"+v != tc.spec {
				t.Errorf("%s serves version %s, want %s", name, v, tc.spec)
			}
			if ep := ins.NetworkSettings.Networks[net]; ep == nil || !contains(strings.Join(ep.Aliases, " "), "web") {
				t.Errorf("%s is not on %s with its alias: %+v", name, net, ins.NetworkSettings.Networks)
			}
			e.gone(name+candidateSuffix, name+oldSuffix)
			if made != "" && made != want {
				// It had passed its gate: kept, not lost.
				e.kept(name, made)
			}
			if id1 != want {
				e.kept(name, id1)
			}
		})
	}
}

// A container zrun did not make under a replacement's name is not
// touched: the step fails naming it.
func TestContainerLeftoverNotManaged(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("svc")
	tag, _ := e.image()
	other := e.handMade(name+candidateSuffix, tag, nil)
	msg := e.fails(e.run("container", appArgs(name, tag, "", nil)))
	if !strings.Contains(msg, name+candidateSuffix) || !strings.Contains(msg, "not made by zrun") {
		t.Errorf("error %s", msg)
	}
	if ins := e.inspect(name + candidateSuffix); ins == nil || ins.ID != other {
		t.Errorf("the container zrun did not make was touched")
	}
	e.gone(name)
}

func (e *ctrEnv) rename(id, to string) {
	e.t.Helper()
	if err := e.c.ContainerRename(e.t.Context(), id, to); err != nil {
		e.t.Fatal(err)
	}
}

// handMade starts a container of the image called name with labels, as
// a run's candidate (or someone else's container) would be.
func (e *ctrEnv) handMade(name, image string, labels map[string]string) string {
	e.t.Helper()
	resp, err := e.c.ContainerCreate(e.t.Context(), &container.Config{Image: image, Labels: labels}, nil, nil, nil, name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.ContainerStart(e.t.Context(), resp.ID, container.StartOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return resp.ID
}

// madeBy makes NAME of the app's spec at version as a replacement makes
// it (zrun's labels, aliases, started), and returns its ID.
func (e *ctrEnv) madeBy(name, image, version string) string {
	e.t.Helper()
	net := e.prefix + "-net"
	a := containerArgs{Name: name, Image: image, Env: map[string]string{"VERSION": version},
		Networks: map[string][]string{net: {"web"}}, HTTPCheck: ctrPtr("8080/health"),
		ReadyTimeout: ctrPtr("5s"), StopTimeout: ctrPtr("2s")}
	d := e.deployment(e.withSocket(a), e.ui("step.container"))
	id, err := d.createStarted(e.t.Context(), name, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}
