package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type buildArgs struct {
	Context    string            `zrun:"context" help:"The build context: a folder on this machine, relative to where zrun runs. Streamed to the engine as a tar, without what its .dockerignore excludes."`
	Dockerfile *string           `zrun:"dockerfile" help:"The Dockerfile, relative to context. Default: \"Dockerfile\"."`
	Tags       []string          `zrun:"tags,optional" help:"Tags to give the image, e.g. [\"zakupai/app:1.4.2\", \"zakupai/app:latest\"]."`
	BuildArgs  map[string]string `zrun:"build_args,optional" help:"Values of the Dockerfile's ARGs. They are recorded in the image's history: no secrets."`
	Stage      *string           `zrun:"stage" help:"The stage of a multi-stage Dockerfile to build (docker build --target): the last one when unset."`
	Labels     map[string]string `zrun:"labels,optional" help:"Labels to set on the image."`
	NoCache    bool              `zrun:"no_cache,optional" help:"Build every step again instead of reusing the engine's cache."`
	Socket     *string           `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type buildOutputs struct {
	ImageID string   `zrun:"image_id" help:"The built image's ID (sha256:...)."`
	Tags    []string `zrun:"tags" help:"The tags given to the image, as the tags argument names them."`
}

func newBuild() sdk.Action {
	return sdk.NewAction("build",
		"Build an image from a folder on this machine, on the target's engine (the legacy builder), streaming the context as it is read.",
		runBuild, sdk.WithValidate(validateBuild), sdk.WithPlan(planBuild))
}

func (a *buildArgs) dockerfile() string {
	if a.Dockerfile == nil {
		return "Dockerfile"
	}
	return path.Clean(filepath.ToSlash(*a.Dockerfile))
}

func validateBuild(_ context.Context, a buildArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("context") && a.Context == "" {
		diags = diags.Errorf(cty.GetAttrPath("context"), "Empty build context", `"context" names a folder on this machine, e.g. "./app".`)
	}
	if known.Has("dockerfile") && a.Dockerfile != nil {
		df := a.dockerfile()
		if *a.Dockerfile == "" || filepath.IsAbs(*a.Dockerfile) || df == ".." || strings.HasPrefix(df, "../") {
			diags = diags.Errorf(cty.GetAttrPath("dockerfile"), "Dockerfile outside the context",
				fmt.Sprintf("%q must be a path inside the context folder, relative to it, e.g. \"docker/Dockerfile.prod\".", *a.Dockerfile))
		}
	}
	if known.Has("stage") && a.Stage != nil && *a.Stage == "" {
		diags = diags.Errorf(cty.GetAttrPath("stage"), "Empty stage", `"stage" names a stage of the Dockerfile (FROM ... AS NAME); remove it to build the last one.`)
	}
	for _, m := range []struct {
		arg string
		m   map[string]string
	}{{"build_args", a.BuildArgs}, {"labels", a.Labels}} {
		if _, ok := m.m[""]; ok && known.Has(m.arg) {
			diags = diags.Errorf(cty.GetAttrPath(m.arg).Index(cty.StringVal("")), "Empty name", "Every key of \""+m.arg+"\" must be a non-empty name.")
		}
	}
	return append(diags, validateImageTags("tags", a.Tags, known)...)
}

// planBuild is "build ["zakupai/app:1.4.2"] from ./app on web1".
func planBuild(_ context.Context, a buildArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	tags := "an untagged image"
	switch {
	case !known.Has("tags"):
		tags = "(tags known at run time)"
	case len(a.Tags) > 0:
		tags = hclList(a.Tags)
	}
	from := a.Context
	if !known.Has("context") {
		from = "(a folder known at run time)"
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("build %s from %s on %s", tags, from, planTarget(target))}}, nil
}

func runBuild(ctx context.Context, a buildArgs, ui sdk.UI) (buildOutputs, error) {
	root, err := buildRoot(a.Context)
	if err != nil {
		return buildOutputs{}, err
	}
	df := a.dockerfile()
	if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(df))); err != nil || !fi.Mode().IsRegular() {
		return buildOutputs{}, &sdk.ArgError{Path: cty.GetAttrPath("dockerfile"), Summary: "Dockerfile not found",
			Detail: fmt.Sprintf("The context %s has no file %s.", a.Context, df)}
	}
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return buildOutputs{}, err
	}
	defer c.Close()

	sent := newTransferProgress(ui, "sending the build context")
	stream := streamBuildContext(root, df, sent.add)
	// Whatever happens, the writer is stopped and waited for: it reads
	// this machine's files, and must not outlive the step.
	defer stream.stop(errors.New("the build ended"))

	resp, err := c.ImageBuild(ctx, stream.pr, a.options(df))
	if err != nil {
		return buildOutputs{}, stream.failed(err)
	}
	defer resp.Body.Close()
	var id string
	err = readEngineMessages(resp.Body, ui.Stdout(), func(aux json.RawMessage) error {
		var m struct{ ID string }
		if json.Unmarshal(aux, &m) == nil && m.ID != "" {
			id = m.ID
		}
		return nil
	})
	if err != nil {
		return buildOutputs{}, stream.failed(err)
	}
	if id == "" {
		return buildOutputs{}, errors.New("build: the engine reported no image ID (it sends one when a build succeeds)")
	}
	ui.Logf("built %s (%d bytes of context sent)", shortImageID(id), sent.bytes())
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return buildOutputs{ImageID: id, Tags: tags}, nil
}

// buildRoot checks that the context is a folder, and returns its path.
func buildRoot(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a folder")
	}
	if err != nil {
		return "", &sdk.ArgError{Path: cty.GetAttrPath("context"), Summary: "Build context not found",
			Detail: fmt.Sprintf("%s: %v. context is a folder on this machine, relative to where zrun runs.", dir, unwrapPathError(err))}
	}
	return dir, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// contextStream is a build context being written into a pipe by a
// goroutine of its own, as the engine reads it.
type contextStream struct {
	pr   *io.PipeReader
	done chan struct{}
	err  error // the writer's, once done is closed
}

func streamBuildContext(root, dockerfile string, sent func(int64)) *contextStream {
	pr, pw := io.Pipe()
	s := &contextStream{pr: pr, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = writeBuildContext(pw, root, dockerfile, sent)
		pw.CloseWithError(s.err)
	}()
	return s
}

// stop makes the writer's next write fail with why (a finished writer is
// left as it is), and waits for it to end.
func (s *contextStream) stop(why error) error {
	s.pr.CloseWithError(why)
	<-s.done
	return s.err
}

// failed says why a build failed: reading the context on this machine,
// when that is what cut the upload off, else what the engine said.
func (s *contextStream) failed(err error) error {
	var ee *engineError
	if !errors.As(err, &ee) {
		if werr := s.stop(err); werr != nil && !errors.Is(werr, err) {
			return fmt.Errorf("build: reading the context: %w", werr)
		}
	}
	return fmt.Errorf("build failed: %w", err)
}

func (a *buildArgs) options(dockerfile string) build.ImageBuildOptions {
	opts := build.ImageBuildOptions{
		Tags:        a.Tags,
		Dockerfile:  dockerfile,
		Labels:      a.Labels,
		NoCache:     a.NoCache,
		Remove:      true,
		ForceRemove: true, // no container left behind by a failed step
		Version:     build.BuilderV1,
	}
	if a.Stage != nil {
		opts.Target = *a.Stage
	}
	if len(a.BuildArgs) > 0 {
		opts.BuildArgs = map[string]*string{}
		for k, v := range a.BuildArgs {
			opts.BuildArgs[k] = &v
		}
	}
	return opts
}
