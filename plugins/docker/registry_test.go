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
func registryRun(t *testing.T, action, sock, ref string, auth cty.Value, extra map[string]cty.Value) *sdktest.Result {
	t.Helper()
	args := map[string]cty.Value{"image": cty.StringVal(ref), "socket": cty.StringVal(sock), "auth": auth}
	for k, v := range extra {
		args[k] = v
	}
	return sdktest.Run(t, Plugin(), action, args, sdktest.WithTarget(local.Target()))
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

	res = registryRun(t, "push", sock, ref, authVal(registryUser, registryPassword), nil)
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
func TestPushAuthSensitive(t *testing.T) {
	for _, action := range []string{"push"} {
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
