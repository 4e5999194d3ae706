package docker

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// Prune keeps the newest images of the repository, and older ones a
// container uses or another repository tags too; it removes the rest and
// touches no other repository, even one whose name starts the same.
func TestPrune(t *testing.T) {
	sock := dockertest.Socket(t)
	c := testClient(t, sock)
	base := objectName(t)
	repo := base + "/app"
	ids := map[int]string{}
	for i := 1; i <= 6; i++ {
		ids[i] = buildImage(t, sock, repo+":"+strconv.Itoa(i), "FROM scratch\nCOPY f /f\n", map[string][]byte{"f": []byte("v" + strconv.Itoa(i))})
	}
	alsoTagged := base + "/other:keep"
	if err := c.ImageTag(t.Context(), ids[2], alsoTagged); err != nil {
		t.Fatal(err)
	}
	removeImageLater(t, c, alsoTagged)
	if err := c.ImageTag(t.Context(), ids[4], repo+":4b"); err != nil {
		t.Fatal(err)
	}
	removeImageLater(t, c, repo+":4b")
	lookalike := buildImage(t, sock, base+"/appx:1", "FROM scratch\nCOPY f /f\n", map[string][]byte{"f": []byte("x")})
	user := objectName(t, "user")
	created, err := c.ContainerCreate(t.Context(), &container.Config{Image: ids[1], Cmd: []string{"/f"}, Labels: map[string]string{"zrun.test": "1"}}, nil, nil, nil, user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true}) })

	args := map[string]cty.Value{"repository": cty.StringVal(repo), "keep": cty.NumberIntVal(2), "socket": cty.StringVal(sock)}
	plan, diags, err := sdkClient().PlanAction(t.Context(), "prune", planRequest(t, "prune", args))
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	planned := strings.Join(plan.Changes, "\n")
	for _, want := range []string{
		"remove " + shortImageID(ids[4]), "remove " + shortImageID(ids[3]),
		"keep " + shortImageID(ids[2]) + " (" + repo + ":2): also tagged " + alsoTagged,
		"keep " + shortImageID(ids[1]) + " (" + repo + ":1): used by container " + user,
	} {
		if !contains(planned, want) {
			t.Errorf("the plan lacks %q:\n%s", want, planned)
		}
	}
	if plan.NoOp {
		t.Error("the plan says no-op")
	}

	res := sdktest.Run(t, Plugin(), "prune", args, sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := listStrings(res.Outputs.GetAttr("removed")), []string{ids[4], ids[3]}; !slices.Equal(got, want) {
		t.Errorf("removed %q, want %q (4 and 3)", got, want)
	}
	if got, want := listStrings(res.Outputs.GetAttr("kept")), []string{ids[6], ids[5], ids[2], ids[1]}; !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q (6, 5, 2, 1)", got, want)
	}
	if logs := strings.Join(res.Logs, "\n"); !contains(logs, "used by container "+user) {
		t.Errorf("the image in use is not named in the log:\n%s", logs)
	}
	for _, gone := range []string{ids[3], ids[4], repo + ":3", repo + ":4b"} {
		if _, err := c.ImageInspect(t.Context(), gone); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	for _, kept := range []string{ids[1], ids[2], ids[5], ids[6], alsoTagged, lookalike} {
		if _, err := c.ImageInspect(t.Context(), kept); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}

	plan, _, err = sdkClient().PlanAction(t.Context(), "prune", planRequest(t, "prune", args))
	if err != nil || !plan.NoOp {
		t.Errorf("a second plan: want a no-op, got %q, %v", plan.Changes, err)
	}
	res = sdktest.Run(t, Plugin(), "prune", args, sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil || res.Outputs.GetAttr("removed").LengthInt() != 0 {
		t.Errorf("a second prune removed %v, %v", res.Outputs.GetAttr("removed"), err)
	}
}

func TestPruneArguments(t *testing.T) {
	tests := map[string]struct {
		args map[string]cty.Value
		path cty.Path
	}{
		"a tag":           {args: map[string]cty.Value{"repository": cty.StringVal("zakupai/app:1")}, path: cty.GetAttrPath("repository")},
		"a glob":          {args: map[string]cty.Value{"repository": cty.StringVal("zakupai/*")}, path: cty.GetAttrPath("repository")},
		"negative keep":   {args: map[string]cty.Value{"repository": cty.StringVal("zakupai/app"), "keep": cty.NumberIntVal(-1)}, path: cty.GetAttrPath("keep")},
		"empty":           {args: map[string]cty.Value{"repository": cty.StringVal("")}, path: cty.GetAttrPath("repository")},
		"upper case":      {args: map[string]cty.Value{"repository": cty.StringVal("Zakupai/App")}, path: cty.GetAttrPath("repository")},
		"with a digest":   {args: map[string]cty.Value{"repository": cty.StringVal("app@sha256:" + strings.Repeat("0", 64))}, path: cty.GetAttrPath("repository")},
		"fractional keep": {args: map[string]cty.Value{"repository": cty.StringVal("app"), "keep": cty.NumberFloatVal(1.5)}, path: cty.GetAttrPath("keep")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := sdktest.Run(t, Plugin(), "prune", tc.args)
			if len(res.Diagnostics) == 0 || !res.Diagnostics[0].Path.Equals(tc.path) {
				t.Errorf("want a diagnostic at %#v, got %v", tc.path, res.Diagnostics)
			}
		})
	}
}
