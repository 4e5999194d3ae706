package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type tagArgs struct {
	Source string   `zrun:"source" help:"The image to tag: a reference (\"zakupai/app:1.4.2\") or an ID (sha256:...)."`
	Tags   []string `zrun:"tags" help:"The tags to give it, e.g. [\"zakupai/app:stable\"]. A tag held by another image moves to this one."`
	Socket *string  `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type tagOutputs struct {
	ImageID string `zrun:"image_id" help:"The source image's ID (sha256:...)."`
	Changed bool   `zrun:"changed" help:"Whether any tag was added or moved (false when every tag already named the image)."`
}

func newTag() sdk.Action {
	return sdk.NewAction("tag", "Give an image on the target's engine more tags.",
		runTag, sdk.WithValidate(validateTag), sdk.WithPlan(planTag))
}

func validateTag(_ context.Context, a tagArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("source") {
		if err := checkImageRef(a.Source); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("source"), "Invalid image reference", upperFirst(err.Error())+".")
		}
	}
	if known.Has("tags") && len(a.Tags) == 0 {
		diags = diags.Errorf(cty.GetAttrPath("tags"), "No tags", `"tags" needs at least one tag, e.g. ["zakupai/app:stable"].`)
	}
	return append(diags, validateImageTags("tags", a.Tags, known)...)
}

func planTag(_ context.Context, a tagArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if !known.All() {
		return &sdk.PlanResponse{Changes: []string{"tag an image (known at run time) on " + planTarget(target)}}, nil
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("tag %s as %s on %s", a.Source, hclList(a.Tags), planTarget(target))}}, nil
}

func runTag(ctx context.Context, a tagArgs, ui sdk.UI) (tagOutputs, error) {
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return tagOutputs{}, err
	}
	defer c.Close()
	id, err := inspectImageID(ctx, c, a.Source, cty.GetAttrPath("source"))
	if err != nil {
		return tagOutputs{}, err
	}
	out := tagOutputs{ImageID: id}
	for _, tag := range a.Tags {
		ref, _ := parseImageTag(tag) // validated
		if held, err := c.ImageInspect(ctx, ref.String()); err == nil && held.ID == id {
			continue
		} else if err != nil && !cerrdefs.IsNotFound(err) {
			return out, err
		}
		if err := c.ImageTag(ctx, id, ref.String()); err != nil {
			return out, fmt.Errorf("tagging %s as %s: %w", shortImageID(id), tag, err)
		}
		ui.Logf("tagged %s as %s", shortImageID(id), tag)
		out.Changed = true
	}
	return out, nil
}

// inspectImageID resolves an image reference or ID on the engine; a missing
// image is an error pointing at the argument path.
func inspectImageID(ctx context.Context, c *client.Client, ref string, path cty.Path) (string, error) {
	img, err := c.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", &sdk.ArgError{Path: path, Summary: "No such image",
			Detail: fmt.Sprintf("The engine has no image %s. Build it (docker.build), load it (docker.load) or pull it first.", ref)}
	}
	if err != nil {
		return "", err
	}
	return img.ID, nil
}
