package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/opencontainers/go-digest"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type pushArgs struct {
	Image  string        `zrun:"image" help:"The image to push, as the tag it has on the engine and the registry it goes to: HOST[:PORT]/REPO:TAG, e.g. \"registry.example.com/zakupai/app:1.4.2\" (Docker Hub: \"docker.io/zakupai/app:1.4.2\")."`
	Socket *string       `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
	Auth   *registryAuth `zrun:"auth,sensitive" help:"The user the engine logs in to the registry as: { username = \"ci\", password = secret.registry_password }. Never shown or logged. Default: none (the registry must let anyone push)."`
}

type pushOutputs struct {
	Digest    string `zrun:"digest" help:"The digest of the image's manifest in the registry (sha256:...), as the registry reported it."`
	Reference string `zrun:"reference" help:"The pushed image by digest: HOST/REPO@sha256:..., which names exactly this image wherever it is pulled."`
	Changed   bool   `zrun:"changed" help:"Whether any layer was pushed or mounted: false when the registry had every layer already."`
	Bytes     int64  `zrun:"bytes" help:"The bytes of the layers pushed, as the engine counted them (0 when the registry had them all)."`
}

func newPush() sdk.Action {
	return sdk.NewAction("push",
		"Push an image from the target's engine to the registry its reference names (HOST/REPO:TAG), and report its digest there.",
		runPush, sdk.WithValidate(validatePush), sdk.WithPlan(planPush))
}

func validatePush(_ context.Context, a pushArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("image") {
		if _, err := parsePushRef(a.Image); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("image"), "Invalid image to push", upperFirst(err.Error())+".")
		}
	}
	return append(diags, validateAuth(a.Auth, known)...)
}

// parsePushRef parses the image to push: a tag (no tag is :latest) whose
// name says which registry it goes to.
func parsePushRef(s string) (reference.NamedTagged, error) {
	ref, err := parseImageTag(s)
	if err != nil {
		return nil, err
	}
	if !hasRegistryHost(s) {
		return nil, fmt.Errorf("%q names no registry: a push goes to the registry its name starts with, HOST[:PORT]/REPO:TAG, e.g. \"registry.example.com/%s\" (Docker Hub: %q)",
			s, reference.FamiliarString(ref), ref.String())
	}
	return ref, nil
}

// validateAuth checks the auth argument of a push or a pull.
func validateAuth(a *registryAuth, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if a == nil || !known.Has("auth") {
		return nil
	}
	if a.Username == "" {
		diags = diags.Errorf(cty.GetAttrPath("auth").GetAttr("username"), "Empty username", "The registry user must be named: "+authHelp+".")
	}
	if a.Password == "" {
		diags = diags.Errorf(cty.GetAttrPath("auth").GetAttr("password"), "Empty password", "The registry user's password must be given, from a secret: "+authHelp+".")
	}
	return diags
}

func planPush(_ context.Context, a pushArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("image") {
		return &sdk.PlanResponse{Changes: []string{"push an image (known at run time) from " + planTarget(target)}}, nil
	}
	ref, _ := parsePushRef(a.Image) // validated
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("push %s to %s from %s", reference.FamiliarString(ref), reference.Domain(ref), planTarget(target))}}, nil
}

func runPush(ctx context.Context, a pushArgs, ui sdk.UI) (pushOutputs, error) {
	ref, _ := parsePushRef(a.Image) // validated
	host := reference.Domain(ref)
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return pushOutputs{}, err
	}
	defer c.Close()
	if _, err := inspectImageID(ctx, c, ref.String(), cty.GetAttrPath("image")); err != nil {
		return pushOutputs{}, err
	}
	if err := a.Auth.login(ctx, c, reference.FamiliarString(ref), host, planTarget(ui.Target())); err != nil {
		return pushOutputs{}, err
	}
	header, err := a.Auth.header(host)
	if err != nil {
		return pushOutputs{}, err
	}
	failed := func(err error) (pushOutputs, error) {
		return pushOutputs{}, registryFailed("pushing", reference.FamiliarString(ref), host, planTarget(ui.Target()), a.Auth, err)
	}
	body, err := c.ImagePush(ctx, ref.String(), image.PushOptions{RegistryAuth: header})
	if err != nil {
		return failed(err)
	}
	defer body.Close()

	var out pushOutputs
	progress := newLayerProgress(ui, "pushing")
	err = eachEngineMessage(body, redactingWriter{ui.Stdout(), a.Auth}, func(m *engineMessage) error {
		progress.update(m)
		// A layer's outcome is only in its status text: the engine gives
		// no code for "Pushed", "Layer already exists", "Mounted from".
		switch {
		case len(m.Aux) > 0:
			var aux struct{ Digest string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.Digest != "" {
				out.Digest = aux.Digest
			}
		case m.Status == "Pushed":
			out.Changed = true
			out.Bytes += progress.moved(m.ID)
		case strings.HasPrefix(m.Status, "Mounted from "):
			out.Changed = true // a layer another repository of the registry had
		}
		return nil
	})
	if err != nil {
		return failed(err)
	}
	if out.Digest == "" {
		return failed(errors.New("the engine reported no digest (it sends one when a push succeeds)"))
	}
	var named reference.Canonical
	d, err := digest.Parse(out.Digest)
	if err == nil {
		named, err = reference.WithDigest(reference.TrimNamed(ref), d)
	}
	if err != nil {
		return out, fmt.Errorf("push: the engine reported an invalid digest %q: %w", out.Digest, err)
	}
	out.Reference = named.String()
	ui.Logf("pushed %s: %s (%d bytes of layers sent)", reference.FamiliarString(ref), out.Digest, out.Bytes)
	return out, nil
}
