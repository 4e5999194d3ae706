package docker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

// The plan says create, unchanged, start or replace, and for a
// replacement one line per field that differs; env values never show.
func TestContainerPlan(t *testing.T) {
	t.Parallel()
	e := newCtrEnv(t)
	name := e.name("web")
	tagA, idA := e.image()
	tagB, idB := e.image("LABEL h1.variant=b")
	const secret1, secret2 = "h1-plan-secret-one", "h1-plan-secret-two"
	port := e.freePort()
	args := func(image, token string, port int) map[string]any {
		a := appArgs(name, image, "", map[string]string{"VERSION": "1", "API_TOKEN": token, "LOG_LEVEL": "debug"})
		a["ports"] = []string{fmt.Sprintf("127.0.0.1:%d:8080", port)}
		return a
	}
	check := func(label string, a map[string]any, want []string, noop bool) {
		t.Helper()
		resp := e.plan("container", a)
		if diff := cmp.Diff(want, resp.Changes); diff != "" || resp.NoOp != noop {
			t.Errorf("%s: NoOp %v (want %v); changes (-want +got):\n%s", label, resp.NoOp, noop, diff)
		}
		if text := strings.Join(resp.Changes, "\n"); strings.Contains(text, secret1) || strings.Contains(text, secret2) {
			t.Errorf("%s: the plan shows an env value:\n%s", label, text)
		}
	}

	check("missing", args(tagA, secret1, port), []string{"create " + name + " (" + tagA + ")"}, false)
	e.ok(e.run("container", args(tagA, secret1, port)))
	check("same spec", args(tagA, secret1, port), []string{"unchanged " + name}, true)

	changed := args(tagB, secret2, port+1)
	changed["env"] = map[string]string{"VERSION": "1", "API_TOKEN": secret2, "NEW_VAR": "x"}
	changed["memory"] = "64M"
	check("changed", changed, []string{
		"replace " + name + ":",
		"  image: sha256:" + shortID(idA) + " -> sha256:" + shortID(idB),
		"  env.API_TOKEN: changed",
		"  env.LOG_LEVEL: removed",
		"  env.NEW_VAR: added",
		fmt.Sprintf(`  ports: ["127.0.0.1:%d:8080"] -> ["127.0.0.1:%d:8080"]`, port, port+1),
		"  memory: (none) -> 64MiB",
	}, false)

	pulled := args("h1-not-on-the-engine.invalid/app:1", secret1, port)
	check("an image to pull", pulled, []string{
		"replace " + name + ":",
		"  image: sha256:" + shortID(idA) + " -> h1-not-on-the-engine.invalid/app:1 (pulled at run time)",
	}, false)

	unknown := args(tagA, secret1, port)
	unknown["env"] = cty.UnknownVal(cty.Map(cty.String))
	check("unknown env", unknown, []string{"replace or keep " + name + " (its spec is known at run time)"}, false)

	if err := e.c.ContainerStop(t.Context(), name, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	check("stopped", args(tagA, secret1, port), []string{"start " + name + " (stopped, its spec unchanged)"}, false)
}
