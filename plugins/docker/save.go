package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type saveArgs struct {
	Images []string `zrun:"images" help:"The images to save: references (\"zakupai/app:1.4.2\", which the archive keeps as tags) or IDs."`
	Socket *string  `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type saveOutputs struct {
	Stream string `zrun:"stream,stream" help:"The images as the tar docker save writes, streamed as the engine produces it: connect it to docker.load's from (from = step.save.stream)."`
	Bytes  int64  `zrun:"bytes" help:"How many bytes the stream carried."`
}

func newSave() sdk.Action {
	return sdk.NewAction("save",
		"Stream images out of the target's engine as a docker save tar, for docker.load on another engine (from = step.NAME.stream).",
		runSave, sdk.WithValidate(validateSave), sdk.WithPlan(planSave))
}

func validateSave(_ context.Context, a saveArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has("images") {
		return nil
	}
	if len(a.Images) == 0 {
		return diags.Errorf(cty.GetAttrPath("images"), "No images", `"images" needs at least one image, e.g. ["zakupai/app:1.4.2"].`)
	}
	for i, ref := range a.Images {
		if err := checkImageRef(ref); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("images").IndexInt(i), "Invalid image reference", upperFirst(err.Error())+".")
		}
	}
	return diags
}

func planSave(_ context.Context, a saveArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	what := "images known at run time"
	if known.Has("images") {
		what = hclList(a.Images)
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("save %s from %s", what, planTarget(target))}}, nil
}

// errNoConsumer is a save whose stream no step reads.
var errNoConsumer = errors.New(`no step reads this step's stream: a save that goes nowhere is a mistake, so it fails before it reads anything. ` +
	`Connect it to a load (docker.load { from = step.NAME.stream }) or another step's stream argument`)

func runSave(ctx context.Context, a saveArgs, ui sdk.UI) (saveOutputs, error) {
	out, err := ui.OutputStream("stream")
	if err != nil {
		return saveOutputs{}, err
	}
	if out == nil {
		return saveOutputs{}, errNoConsumer
	}
	defer out.Close()
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return saveOutputs{}, err
	}
	defer c.Close()
	// Resolve first: the engine reports a missing image only once it has
	// begun to answer, inside the archive.
	for i, ref := range a.Images {
		if _, err := inspectImageID(ctx, c, ref, cty.GetAttrPath("images").IndexInt(i)); err != nil {
			return saveOutputs{}, err
		}
	}
	body, err := c.ImageSave(ctx, a.Images)
	if err != nil {
		return saveOutputs{}, fmt.Errorf("save: %w", err)
	}
	defer body.Close()
	sent := newTransferProgress(ui, "saving")
	n, err := copyArchive(countingWriter{w: out, p: sent}, body)
	if err != nil {
		return saveOutputs{Bytes: n}, fmt.Errorf("save: %w", err)
	}
	ui.Logf("saved %s: %d bytes", hclList(a.Images), n)
	return saveOutputs{Bytes: n}, nil
}

// copyArchive copies the engine's tar to w as it arrives, reading it as a
// tar as it passes: the engine answers 200 before it has read the images,
// and reports a failure after that by cutting the archive short or by
// writing its error into it, which only a reader of the tar sees. A save
// whose archive does not end as a tar ends (two zero blocks after the
// last entry) is a failed save, and its consumer's pipe fails with it.
func copyArchive(w io.Writer, body io.Reader) (int64, error) {
	out := &stickyWriter{w: w}
	tr := tar.NewReader(io.TeeReader(body, out))
	buf := make([]byte, 256<<10)
	var entryEnd int64 // where the last entry's content ended
	broken := func(err error) (int64, error) {
		if out.err != nil {
			return out.n, out.err
		}
		return out.n, fmt.Errorf("the engine's archive broke off after %d bytes: %w", out.n, err)
	}
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			_, err = io.CopyBuffer(writerOnly{io.Discard}, tr, buf)
		}
		if err != nil || out.err != nil {
			return broken(err)
		}
		entryEnd = out.n
	}
	// The padding of the last entry (under a block) and the two zero
	// blocks that end an archive: an archive cut at an entry's end reads
	// as ended to a tar reader, not to this.
	if out.n-entryEnd < 2*512 {
		return broken(io.ErrUnexpectedEOF)
	}
	// What may follow is more padding: zeros.
	if _, err := io.CopyBuffer(zerosOnly{out}, body, buf); err != nil || out.err != nil {
		return broken(err)
	}
	return out.n, nil
}

// stickyWriter counts what it wrote, and keeps its first error: a tar
// reader that reads through it must not report the consumer's failure as
// a broken archive.
type stickyWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	if err != nil {
		s.err = fmt.Errorf("writing the stream: %w", err)
	}
	return n, s.err
}

// writerOnly hides io.Discard's ReadFrom, so that CopyBuffer reads into
// the large buffer it is given (and the stream gets large writes).
type writerOnly struct{ io.Writer }

// zerosOnly passes on zeros, and fails on anything else.
type zerosOnly struct{ w io.Writer }

func (z zerosOnly) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != 0 {
			return 0, errors.New("data after the archive's end")
		}
	}
	return z.w.Write(p)
}
