package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// The test registry's user, and a password no message may show.
const (
	registryUser     = "ci"
	registryPassword = "h10-s3cret-Pa55word"
)

func authVal(user, password string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"username": cty.StringVal(user), "password": cty.StringVal(password)})
}

// registryRun runs a push or a pull against the engine at sock.
func registryRun(t *testing.T, action, sock, ref string, auth cty.Value, extra map[string]cty.Value, opts ...sdktest.Option) *sdktest.Result {
	t.Helper()
	args := map[string]cty.Value{"image": cty.StringVal(ref), "socket": cty.StringVal(sock), "auth": auth}
	for k, v := range extra {
		args[k] = v
	}
	return sdktest.Run(t, Plugin(), action, args, append([]sdktest.Option{sdktest.WithTarget(local.Target())}, opts...)...)
}

// noPassword fails t when anything the step showed holds the password.
func noPassword(t *testing.T, what string, res *sdktest.Result) {
	t.Helper()
	shown := []string{res.Stdout, res.Stderr, strings.Join(res.Logs, "\n")}
	for _, d := range res.Diagnostics {
		shown = append(shown, d.Summary, d.Detail)
	}
	for _, p := range res.Progress {
		shown = append(shown, p.Message)
	}
	for _, s := range shown {
		if strings.Contains(s, registryPassword) {
			t.Fatalf("%s: the password is in what the step showed: %q", what, s)
		}
	}
}

// pushedImage builds the example image tagged in the test registry:
// REGISTRY/h10/<test>:1, removed when the test ends.
func pushedImage(t *testing.T, sock string, reg *dockertest.Registry) (ref, repo, id string) {
	t.Helper()
	repo = "h10/" + objectName(t)
	ref = reg.Host + "/" + repo + ":1"
	id = dockertest.Image(t, sock, ref, "LABEL zrun.test.case="+objectName(t))
	c := testClient(t, sock)
	removeImageLater(t, c, id)
	return ref, repo, id
}

// A push with a wrong password fails naming the registry and the image,
// and shows the password nowhere; with the right one its digest is the
// registry's, and a second push changes nothing.
func TestPush(t *testing.T) {
	sock := dockertest.Socket(t)
	reg := dockertest.NewRegistry(t, registryUser, registryPassword)
	ref, repo, _ := pushedImage(t, sock, reg)

	wrong := registryPassword + "-wrong"
	res := registryRun(t, "push", sock, ref, authVal(registryUser, wrong), nil)
	if !res.Diagnostics.HasErrors() {
		t.Fatal("a push with a wrong password succeeded")
	}
	msg := res.Diagnostics.Err().Error()
	if !contains(msg, reg.Host) || !contains(msg, repo) || !contains(msg, "auth =") {
		t.Errorf("the failure names neither the registry, the image nor the fix: %s", msg)
	}
	if contains(msg, wrong) || contains(res.Stdout+strings.Join(res.Logs, ""), wrong) {
		t.Errorf("the wrong password is in what the step showed: %s", msg)
	}
	noPassword(t, "wrong password", res)

	// Over the wire: the sensitive object reaches the plugin whole.
	res = registryRun(t, "push", sock, ref, authVal(registryUser, registryPassword), nil, sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	noPassword(t, "push", res)
	digest := res.Outputs.GetAttr("digest").AsString()
	if want := reg.ManifestDigest(t, repo, "1"); digest != want {
		t.Errorf("digest %s, the registry's %s", digest, want)
	}
	if got, want := res.Outputs.GetAttr("reference").AsString(), reg.Host+"/"+repo+"@"+digest; got != want {
		t.Errorf("reference %s, want %s", got, want)
	}
	if !res.Outputs.GetAttr("changed").True() {
		t.Error("changed = false on the first push")
	}
	if n, _ := res.Outputs.GetAttr("bytes").AsBigFloat().Int64(); n <= 0 {
		t.Errorf("bytes = %d on the first push", n)
	}

	res = registryRun(t, "push", sock, ref, authVal(registryUser, registryPassword), nil)
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if res.Outputs.GetAttr("changed").True() || res.Outputs.GetAttr("digest").AsString() != digest {
		t.Errorf("pushing again: changed %v, digest %s; want false, %s", res.Outputs.GetAttr("changed"), res.Outputs.GetAttr("digest").AsString(), digest)
	}
	if n, _ := res.Outputs.GetAttr("bytes").AsBigFloat().Int64(); n != 0 {
		t.Errorf("pushing again: bytes = %d, want 0", n)
	}
}

// A push of an image the engine lacks, to a registry that is down, or
// to no registry at all fails with what to do.
func TestPushFailures(t *testing.T) {
	sock := dockertest.Socket(t)
	reg := dockertest.NewRegistry(t, registryUser, registryPassword)
	auth := authVal(registryUser, registryPassword)

	res := registryRun(t, "push", sock, reg.Host+"/h10/missing:1", auth, nil)
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != "No such image" || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("image")) {
		t.Errorf("a missing image: want No such image at image, got %v", res.Diagnostics)
	}

	down := dockertest.NewRegistry(t, registryUser, registryPassword)
	ref, _, _ := pushedImage(t, sock, down)
	downHost := down.Host
	down.Close()
	res = registryRun(t, "push", sock, ref, auth, nil)
	if !res.Diagnostics.HasErrors() || !contains(res.Diagnostics.Err().Error(), downHost) {
		t.Errorf("a registry that is down: want an error naming %s, got %v", downHost, res.Diagnostics)
	}
	noPassword(t, "registry down", res)

	res = registryRun(t, "push", sock, "zakupai/app:1", auth, nil)
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != "Invalid image to push" {
		t.Errorf("a push without a registry: want Invalid image to push, got %v", res.Diagnostics)
	}
	res = registryRun(t, "push", sock, reg.Host+"/h10/x:1", authVal(registryUser, ""), nil)
	if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("auth").GetAttr("password")) {
		t.Errorf("an empty password: want a diagnostic at auth.password, got %v", res.Diagnostics)
	}
}

// The auth argument is sensitive: zrun masks it wherever it goes.
func TestPushPullAuthSensitive(t *testing.T) {
	for _, action := range []string{"push", "pull"} {
		for _, a := range Plugin().Schema().Actions[action].Args {
			if a.Name == "auth" && !a.Sensitive {
				t.Errorf("docker.%s's auth is not sensitive", action)
			}
		}
	}
}

// removeLocal removes every tag of the image id, so that a pull must
// fetch it.
func removeLocal(t *testing.T, sock, id string) {
	t.Helper()
	c := testClient(t, sock)
	if _, err := c.ImageRemove(context.Background(), id, image.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

// pushOK pushes ref with the right password and returns its digest.
func pushOK(t *testing.T, sock, ref string) string {
	t.Helper()
	res := registryRun(t, "push", sock, ref, authVal(registryUser, registryPassword), nil)
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	return res.Outputs.GetAttr("digest").AsString()
}

// pullOK pulls ref with the right password and returns the outputs.
func pullOK(t *testing.T, sock, ref string, extra map[string]cty.Value) (id, digest string, changed bool) {
	t.Helper()
	res := registryRun(t, "pull", sock, ref, authVal(registryUser, registryPassword), extra)
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	noPassword(t, "pull", res)
	out := res.Outputs
	return out.GetAttr("id").AsString(), out.GetAttr("digest").AsString(), out.GetAttr("changed").True()
}

// A pull brings back the image that was pushed, by tag or by digest; with
// policy "missing" (the default) an engine that has it does not ask the
// registry, with "always" it does.
func TestPull(t *testing.T) {
	sock := dockertest.Socket(t)
	reg := dockertest.NewRegistry(t, registryUser, registryPassword)
	ref, repo, built := pushedImage(t, sock, reg)
	digest := pushOK(t, sock, ref)
	removeLocal(t, sock, built)

	plan := pullPlan(t, sock, ref, nil)
	if want := "pull " + ref + " from " + reg.Host + " onto local"; plan != want {
		t.Errorf("plan of a missing image: %q, want %q", plan, want)
	}
	id, got, changed := pullOK(t, sock, ref, nil)
	if id != built || got != digest || !changed {
		t.Errorf("pull: id %s, digest %s, changed %v; want %s, %s, true", id, got, changed, built, digest)
	}

	manifests := reg.Requests("GET", "/manifests/") + reg.Requests("HEAD", "/manifests/")
	id, got, changed = pullOK(t, sock, ref, nil)
	if id != built || got != digest || changed {
		t.Errorf("pulling again: id %s, digest %s, changed %v; want %s, %s, false", id, got, changed, built, digest)
	}
	if n := reg.Requests("GET", "/manifests/") + reg.Requests("HEAD", "/manifests/"); n != manifests {
		t.Errorf("pulling an image the engine has, policy missing: %d manifest requests to the registry, want none", n-manifests)
	}
	if plan := pullPlan(t, sock, ref, nil); !strings.HasPrefix(plan, "nothing to pull: local has "+ref) {
		t.Errorf("plan of an image the engine has: %q", plan)
	}

	always := map[string]cty.Value{"policy": cty.StringVal("always")}
	id, got, changed = pullOK(t, sock, ref, always)
	if id != built || got != digest || changed {
		t.Errorf("policy always, nothing newer: id %s, digest %s, changed %v; want %s, %s, false", id, got, changed, built, digest)
	}
	if n := reg.Requests("GET", "/manifests/") + reg.Requests("HEAD", "/manifests/"); n == manifests {
		t.Error("policy always did not ask the registry")
	}

	removeLocal(t, sock, built)
	byDigest := reg.Host + "/" + repo + "@" + digest
	id, got, changed = pullOK(t, sock, byDigest, nil)
	if id != built || got != digest || !changed {
		t.Errorf("pull by digest: id %s, digest %s, changed %v; want %s, %s, true", id, got, changed, built, digest)
	}

	res := registryRun(t, "pull", sock, ref, authVal(registryUser, registryPassword+"-wrong"), always)
	if !res.Diagnostics.HasErrors() || !contains(res.Diagnostics.Err().Error(), reg.Host) {
		t.Errorf("a pull with a wrong password: want an error naming %s, got %v", reg.Host, res.Diagnostics)
	}
	noPassword(t, "pull, wrong password", res)
	res = registryRun(t, "pull", sock, ref, authVal(registryUser, registryPassword), map[string]cty.Value{"policy": cty.StringVal("sometimes")})
	if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("policy")) {
		t.Errorf("an unknown policy: want a diagnostic at policy, got %v", res.Diagnostics)
	}
}

// pullPlan is the plan of a pull of ref on this machine.
func pullPlan(t *testing.T, sock, ref string, extra map[string]cty.Value) string {
	t.Helper()
	args := map[string]cty.Value{"image": cty.StringVal(ref), "socket": cty.StringVal(sock)}
	for k, v := range extra {
		args[k] = v
	}
	resp, diags, err := sdkClient().PlanAction(t.Context(), "pull", planRequest(t, "pull", args))
	if err == nil {
		err = diags.Err()
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(resp.Changes, "\n")
}

// docker.container reports the registry digest of a pulled image, and ""
// for one built here.
func TestContainerImageDigest(t *testing.T) {
	sock := dockertest.Socket(t)
	reg := dockertest.NewRegistry(t, registryUser, registryPassword)
	ref, _, built := pushedImage(t, sock, reg) // before the containers: removed after them
	digest := pushOK(t, sock, ref)
	removeLocal(t, sock, built)
	pullOK(t, sock, ref, nil)

	e := newCtrEnv(t)
	net := e.network()
	localTag, _ := e.image()
	for name, c := range map[string]struct{ image, want string }{
		"pulled": {ref, digest},
		"local":  {localTag, ""},
	} {
		out := e.ok(e.run("container", appArgs(e.name(name), c.image, net, map[string]string{"SERVICE": name})))
		if got := e.str(out, "image_digest"); got != c.want {
			t.Errorf("%s image: image_digest %q, want %q", name, got, c.want)
		}
	}
}

func TestDigestIn(t *testing.T) {
	const a, b = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	rds := []string{"reg.example.com/zakupai/app@" + b, "zakupai/app@" + a}
	for name, c := range map[string]struct {
		rds  []string
		repo string
		want string
	}{
		"its repository":    {rds, "reg.example.com/zakupai/app", b},
		"docker hub":        {rds, "docker.io/zakupai/app", a},
		"another":           {rds, "reg.example.com/other", ""},
		"any: the first":    {rds, "", b},
		"none":              {nil, "", ""},
		"not a repo digest": {[]string{"zakupai/app:1"}, "", ""},
	} {
		if got := digestIn(c.rds, c.repo); got != c.want {
			t.Errorf("%s: digestIn(%q, %q) = %q, want %q", name, c.rds, c.repo, got, c.want)
		}
	}
}
