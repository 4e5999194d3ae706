package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type pullArgs struct {
	Image  string        `zrun:"image" help:"The image to pull: a tag (\"registry.example.com/zakupai/app:1.4.2\"; no tag is :latest; no registry is Docker Hub) or a digest reference (\"registry.example.com/zakupai/app@sha256:...\", a push's reference output)."`
	Socket *string       `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Auth   *registryAuth `zrun:"auth,sensitive" help:"The user the engine logs in to the registry as: { username = \"ci\", password = secret.registry_password }. Never shown or logged. Default: none (anonymous)."`
	Policy *string       `zrun:"policy" help:"When to pull: \"missing\" (only when the engine has no image of that reference) or \"always\" (ask the registry every time: a tag may have moved). Default: \"missing\"."`
}

type pullOutputs struct {
	ID      string `zrun:"id" help:"The ID (sha256:...) of the image the reference names on the engine now."`
	Digest  string `zrun:"digest" help:"The image's digest in the reference's repository (sha256:..., from its RepoDigests); \"\" when the engine knows none (the image was not pulled, only built or loaded here)."`
	Changed bool   `zrun:"changed" help:"Whether the reference names another image than before the step (false when the engine had it, and when the registry had nothing newer)."`
}

// Pull policies (the policy argument).
const (
	pullMissing = "missing"
	pullAlways  = "always"
)

func newPull() sdk.Action {
	return sdk.NewAction("pull",
		"Pull an image into the target's engine from the registry its reference names, unless the engine has it already (policy = \"always\" asks the registry every time).",
		runPull, sdk.WithValidate(validatePull), sdk.WithPlan(planPull))
}

func (a *pullArgs) policy() string {
	if a.Policy == nil {
		return pullMissing
	}
	return *a.Policy
}

// parsePullRef parses the image to pull: NAME[:TAG] (no tag is :latest)
// or NAME@DIGEST. An image ID is refused: only a name says where from.
func parsePullRef(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference (NAME[:TAG] or NAME@sha256:..., e.g. \"registry.example.com/zakupai/app:1.4.2\"): %v", s, err)
	}
	return reference.TagNameOnly(named), nil
}

func validatePull(_ context.Context, a pullArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("image") {
		if _, err := parsePullRef(a.Image); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("image"), "Invalid image to pull", upperFirst(err.Error())+".")
		}
	}
	if p := a.policy(); known.Has("policy") && p != pullMissing && p != pullAlways {
		diags = diags.Errorf(cty.GetAttrPath("policy"), "Invalid pull policy", fmt.Sprintf("%q is not a pull policy: \"missing\" (the default) pulls only when the engine lacks the image, \"always\" every time.", p))
	}
	return append(diags, validateAuth(a.Auth, known)...)
}

func planPull(ctx context.Context, a pullArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("image") {
		return &sdk.PlanResponse{Changes: []string{"pull an image (known at run time) onto " + planTarget(target)}}, nil
	}
	ref, _ := parsePullRef(a.Image) // validated
	describe := fmt.Sprintf("pull %s from %s onto %s", reference.FamiliarString(ref), reference.Domain(ref), planTarget(target))
	if a.policy() == pullAlways {
		return &sdk.PlanResponse{Changes: []string{describe + " (policy always: the registry is asked even if the engine has it)"}}, nil
	}
	if !known.Has("socket") || target == nil {
		return &sdk.PlanResponse{Changes: []string{describe + " unless the engine has it"}}, nil
	}
	c, err := connect(ctx, target, a.Socket)
	if err != nil {
		return &sdk.PlanResponse{Changes: []string{describe + " unless the engine has it (which cannot be looked up now: " + err.Error() + ")"}}, nil
	}
	defer c.Close()
	have, err := localImage(ctx, c, ref.String())
	if err != nil {
		return nil, err
	}
	if have != nil {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("nothing to pull: %s has %s (%s)", planTarget(target), reference.FamiliarString(ref), shortImageID(have.ID))}}, nil
	}
	return &sdk.PlanResponse{Changes: []string{describe}}, nil
}

// localImage inspects ref on the engine; nil when the engine has no
// image of that reference.
func localImage(ctx context.Context, c *client.Client, ref string) (*image.InspectResponse, error) {
	ins, err := c.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up image %s: %w", ref, err)
	}
	return &ins, nil
}

func runPull(ctx context.Context, a pullArgs, ui sdk.UI) (pullOutputs, error) {
	ref, _ := parsePullRef(a.Image) // validated
	host := reference.Domain(ref)
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return pullOutputs{}, err
	}
	defer c.Close()
	before, err := localImage(ctx, c, ref.String())
	if err != nil {
		return pullOutputs{}, err
	}
	if before != nil && a.policy() == pullMissing {
		ui.Logf("%s is on the engine already (%s): not pulled", reference.FamiliarString(ref), shortImageID(before.ID))
		return pullOutputs{ID: before.ID, Digest: pulledDigest(ref, before.RepoDigests)}, nil
	}
	if err := a.Auth.login(ctx, c, reference.FamiliarString(ref), host, planTarget(ui.Target())); err != nil {
		return pullOutputs{}, err
	}
	header, err := a.Auth.header(host)
	if err != nil {
		return pullOutputs{}, err
	}
	failed := func(err error) (pullOutputs, error) {
		return pullOutputs{}, registryFailed("pulling", reference.FamiliarString(ref), host, planTarget(ui.Target()), a.Auth, err)
	}
	body, err := c.ImagePull(ctx, ref.String(), image.PullOptions{RegistryAuth: header})
	if err != nil {
		return failed(err)
	}
	defer body.Close()
	progress := newLayerProgress(ui, "pulling")
	err = eachEngineMessage(body, redactingWriter{ui.Stdout(), a.Auth}, func(m *engineMessage) error {
		progress.update(m)
		return nil
	})
	if err != nil {
		return failed(err)
	}
	after, err := localImage(ctx, c, ref.String())
	if err != nil {
		return pullOutputs{}, err
	}
	if after == nil {
		return pullOutputs{}, fmt.Errorf("pulling %s: the engine reported success but has no image of that reference", reference.FamiliarString(ref))
	}
	out := pullOutputs{ID: after.ID, Digest: pulledDigest(ref, after.RepoDigests), Changed: before == nil || before.ID != after.ID}
	if out.Changed {
		ui.Logf("pulled %s: %s (%s)", reference.FamiliarString(ref), shortImageID(out.ID), out.Digest)
	} else {
		ui.Logf("%s is up to date (%s)", reference.FamiliarString(ref), shortImageID(out.ID))
	}
	return out, nil
}

// pulledDigest is the digest of a pulled reference: its own for a digest
// reference, else the image's in its repository; "" when it has none
// there.
func pulledDigest(ref reference.Named, repoDigests []string) string {
	if d, ok := ref.(reference.Digested); ok {
		return d.Digest().String()
	}
	return digestIn(repoDigests, ref.Name())
}
