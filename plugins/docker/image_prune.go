package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// DefaultPruneKeep is how many images of the repository docker.prune
// keeps unless told otherwise.
const DefaultPruneKeep = 3

type pruneArgs struct {
	Repository string   `zrun:"repository" help:"The repository whose images to prune, without a tag, e.g. \"zakupai/app\". No other repository's image is touched."`
	Keep       *float64 `zrun:"keep" help:"How many of its newest images (by creation time) to keep. Default: 3."`
	Socket     *string  `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type pruneOutputs struct {
	Removed []string `zrun:"removed" help:"The IDs of the images removed."`
	Kept    []string `zrun:"kept" help:"The IDs of the repository's images kept: the newest, those a container uses, and those another repository tags too."`
}

func newPrune() sdk.Action {
	return sdk.NewAction("prune",
		"Remove the old images of one repository on the target's engine, keeping the newest; an image a container uses (running or not) is never removed.",
		runPrune, sdk.WithValidate(validatePrune), sdk.WithPlan(planPrune))
}

func (a *pruneArgs) keep() int {
	if a.Keep == nil {
		return DefaultPruneKeep
	}
	return int(*a.Keep)
}

// parseRepository parses a repository name: no tag, no digest.
func parseRepository(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a repository name (e.g. \"zakupai/app\"): %v", s, err)
	}
	if !reference.IsNameOnly(named) {
		return nil, fmt.Errorf("%q names a tag or digest: a repository is the name alone, e.g. %q", s, reference.FamiliarName(named))
	}
	return named, nil
}

func validatePrune(_ context.Context, a pruneArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("repository") {
		if _, err := parseRepository(a.Repository); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("repository"), "Invalid repository", upperFirst(err.Error())+".")
		}
	}
	if known.Has("keep") && a.Keep != nil && !wholeNumber(*a.Keep, 0, 1e6) {
		diags = diags.Errorf(cty.GetAttrPath("keep"), "Invalid keep", fmt.Sprintf("keep is how many images to keep, a whole number, 0 or more; got %g.", *a.Keep))
	}
	return diags
}

// pruneImage is one image of the repository.
type pruneImage struct {
	id      string
	tags    []string // its tags in the repository
	others  []string // its tags in other repositories
	created time.Time
	usedBy  []string // the containers that use it
}

func (p *pruneImage) String() string {
	return shortImageID(p.id) + " (" + strings.Join(p.tags, ", ") + ")"
}

// why is why a kept image is kept beyond the newest, "" for one that goes.
func (p *pruneImage) why() string {
	switch {
	case len(p.usedBy) > 0:
		return "used by container " + strings.Join(p.usedBy, ", ")
	case len(p.others) > 0:
		return "also tagged " + strings.Join(p.others, ", ")
	}
	return ""
}

// pruneSelection is what a prune removes and keeps.
type pruneSelection struct {
	remove, keep []*pruneImage
}

// selectPrune reads the repository's images and the containers, and
// decides: the newest keep images stay; of the others, those a container
// uses or another repository tags too stay, and the rest go.
func selectPrune(ctx context.Context, c *client.Client, repo reference.Named, keep int) (*pruneSelection, error) {
	// The engine's reference filter is a glob on the familiar name: it
	// narrows the list, and the exact repository is checked here.
	list, err := c.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", reference.FamiliarName(repo)))})
	if err != nil {
		return nil, err
	}
	var images []*pruneImage
	for _, s := range list {
		// The list shows only the tags that matched the filter: the
		// image's own say whether another repository tags it too.
		ins, err := c.ImageInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		img := &pruneImage{id: ins.ID}
		img.created, _ = time.Parse(time.RFC3339Nano, ins.Created)
		for _, t := range ins.RepoTags {
			ref, err := reference.ParseNormalizedNamed(t)
			if err == nil && ref.Name() == repo.Name() {
				img.tags = append(img.tags, t)
			} else {
				img.others = append(img.others, t)
			}
		}
		if len(img.tags) > 0 {
			images = append(images, img)
		}
	}
	if err := markPruneUsers(ctx, c, images); err != nil {
		return nil, err
	}
	slices.SortFunc(images, func(a, b *pruneImage) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	sel := &pruneSelection{}
	for i, img := range images {
		if i < keep || img.why() != "" {
			sel.keep = append(sel.keep, img)
		} else {
			sel.remove = append(sel.remove, img)
		}
	}
	return sel, nil
}

// markPruneUsers notes the containers (running or not) that use each image.
func markPruneUsers(ctx context.Context, c *client.Client, images []*pruneImage) error {
	containers, err := c.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return err
	}
	for _, ct := range containers {
		for _, img := range images {
			if ct.ImageID == img.id {
				img.usedBy = append(img.usedBy, pruneContainerName(ct))
			}
		}
	}
	return nil
}

func pruneContainerName(ct container.Summary) string {
	if len(ct.Names) > 0 {
		return strings.TrimPrefix(ct.Names[0], "/")
	}
	return ct.ID[:min(12, len(ct.ID))]
}

func planPrune(ctx context.Context, a pruneArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	repoName := a.Repository
	if !known.Has("repository") {
		repoName = "a repository (known at run time)"
	}
	describe := fmt.Sprintf("remove the images of %s but the newest %d on %s", repoName, a.keep(), planTarget(target))
	if !known.All() || target == nil {
		return &sdk.PlanResponse{Changes: []string{describe}}, nil
	}
	repo, _ := parseRepository(a.Repository) // validated
	c, err := connect(ctx, target, a.Socket)
	if err != nil {
		return &sdk.PlanResponse{Changes: []string{describe + " (which cannot be listed now: " + err.Error() + ")"}}, nil
	}
	defer c.Close()
	sel, err := selectPrune(ctx, c, repo, a.keep())
	if err != nil {
		return nil, err
	}
	var changes []string
	for _, img := range sel.remove {
		changes = append(changes, "remove "+img.String())
	}
	for i, img := range sel.keep {
		if why := img.why(); why != "" && i >= a.keep() {
			changes = append(changes, "keep "+img.String()+": "+why)
		}
	}
	if len(sel.remove) == 0 {
		changes = append(changes, fmt.Sprintf("nothing to remove: %s has %d image(s) to keep on %s", a.Repository, len(sel.keep), planTarget(target)))
	}
	return &sdk.PlanResponse{Changes: changes, NoOp: len(sel.remove) == 0}, nil
}

func runPrune(ctx context.Context, a pruneArgs, ui sdk.UI) (pruneOutputs, error) {
	repo, _ := parseRepository(a.Repository) // validated
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return pruneOutputs{}, err
	}
	defer c.Close()
	sel, err := selectPrune(ctx, c, repo, a.keep())
	if err != nil {
		return pruneOutputs{}, err
	}
	out := pruneOutputs{Removed: []string{}, Kept: []string{}}
	for i, img := range sel.keep {
		if why := img.why(); why != "" && i >= a.keep() {
			ui.Logf("kept %s: %s", img, why)
		}
		out.Kept = append(out.Kept, img.id)
	}
	for _, img := range sel.remove {
		removed, err := untagFromRepository(ctx, c, img)
		if cerrdefs.IsConflict(err) {
			// A container took it up since the list: the engine refuses.
			ui.Logf("kept %s: %v", img, err)
			out.Kept = append(out.Kept, img.id)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("removing %s: %w", img, err)
		}
		if removed {
			ui.Logf("removed %s", img)
			out.Removed = append(out.Removed, img.id)
		}
	}
	return out, nil
}

// untagFromRepository removes an image by its tags in the repository (never by
// ID, which would take other repositories' tags with it, and never
// forced, so that the engine refuses an image a container uses), and
// reports whether the image is gone.
func untagFromRepository(ctx context.Context, c *client.Client, img *pruneImage) (bool, error) {
	gone := false
	for _, tag := range img.tags {
		resp, err := c.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true})
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return gone, err
		}
		for _, r := range resp {
			if r.Deleted == img.id {
				gone = true
			}
		}
	}
	return gone, nil
}
