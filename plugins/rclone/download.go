package rclone

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// maxRead is the most rclone.read returns and rclone.write takes.
const maxRead = 1 << 20

type objectArgs struct {
	remoteArgs
	Path string `zrun:"path" help:"The object's path inside the remote."`
}

func (a *objectArgs) validate(known sdk.Known) sdk.Diagnostics {
	return append(a.remoteArgs.validate(known), validateObjectPath("path", a.Path, known)...)
}

type downloadOutputs struct {
	Stream string `zrun:"stream,stream" help:"The object's bytes, for another step to consume (from = step.fetch.stream). It ends only once every byte was read."`
	Bytes  int64  `zrun:"bytes" help:"How many bytes were downloaded."`
	SHA256 string `zrun:"sha256" help:"The SHA-256 of the downloaded bytes (hex)."`
}

func newDownload() sdk.Action {
	return sdk.NewAction("download",
		"Download an object from a remote into a stream, with no temporary file on this machine.",
		runDownload, sdk.WithValidate(validateObject), sdk.WithPlan(planReading[objectArgs]("download")))
}

func validateObject(_ context.Context, a objectArgs, known sdk.Known) sdk.Diagnostics {
	return a.validate(known)
}

func runDownload(ctx context.Context, a objectArgs, ui sdk.UI) (downloadOutputs, error) {
	r, err := a.resolve()
	if err != nil {
		return downloadOutputs{}, err
	}
	out, err := ui.OutputStream("stream")
	if err != nil {
		return downloadOutputs{}, err
	}
	var w io.Writer
	if out != nil {
		w = out
	}
	s, err := readAll(ctx, r, a.Path, w, ui, "download")
	if out != nil {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return downloadOutputs{}, fmt.Errorf("download %s from %s: %w", a.Path, r.label, err)
	}
	return downloadOutputs{Bytes: s.bytes, SHA256: s.sha256}, nil
}

type hashArgs struct {
	objectArgs
	SHA256 *string `zrun:"sha256" help:"The SHA-256 (hex) the object must have, e.g. step.upload.sha256: the step fails if it differs."`
	Bytes  *int64  `zrun:"bytes" help:"The size the object must have: the step fails if it differs."`
}

type hashOutputs struct {
	SHA256 string `zrun:"sha256" help:"The SHA-256 of the object as read back from the remote (hex)."`
	Bytes  int64  `zrun:"bytes" help:"The object's size as read back."`
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func newHash() sdk.Action {
	return sdk.NewAction("hash",
		"Read an object back from its remote and compute its SHA-256, failing if it is not the expected one or "+
			"not of the expected size: the check before a backup counts.",
		runHash, sdk.WithValidate(validateHash), sdk.WithPlan(planReading[hashArgs]("read back and check")))
}

func validateHash(_ context.Context, a hashArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	if known.Has("sha256") && a.SHA256 != nil && !hexSHA256.MatchString(*a.SHA256) {
		diags = diags.Errorf(cty.GetAttrPath("sha256"), "Invalid SHA-256", "sha256 is 64 hexadecimal digits, e.g. step.upload.sha256.")
	}
	if known.Has("bytes") && a.Bytes != nil && *a.Bytes < 0 {
		diags = diags.Errorf(cty.GetAttrPath("bytes"), "Invalid size", "bytes is the object's expected size, 0 or more.")
	}
	return diags
}

func runHash(ctx context.Context, a hashArgs, ui sdk.UI) (hashOutputs, error) {
	r, err := a.resolve()
	if err != nil {
		return hashOutputs{}, err
	}
	s, err := readAll(ctx, r, a.Path, nil, ui, "read back")
	if err != nil {
		return hashOutputs{}, fmt.Errorf("read back %s from %s: %w", a.Path, r.label, err)
	}
	out := hashOutputs{SHA256: s.sha256, Bytes: s.bytes}
	if a.Bytes != nil && *a.Bytes != s.bytes {
		return out, fmt.Errorf("%s on %s holds %d bytes, %d expected: it is not the object that was uploaded", a.Path, r.label, s.bytes, *a.Bytes)
	}
	if a.SHA256 != nil && !strings.EqualFold(*a.SHA256, s.sha256) {
		return out, fmt.Errorf("%s on %s has SHA-256 %s, %s expected: the stored object is damaged or not the one uploaded", a.Path, r.label, s.sha256, strings.ToLower(*a.SHA256))
	}
	return out, nil
}

type readOutputs struct {
	Content string `zrun:"content" help:"The object's content."`
	Bytes   int64  `zrun:"bytes" help:"Its size."`
}

func newRead() sdk.Action {
	return sdk.NewAction("read",
		fmt.Sprintf("Read a small object (a manifest), at most %s.", sizeText(maxRead)),
		runRead, sdk.WithValidate(validateObject), sdk.WithPlan(planReading[objectArgs]("read")))
}

func runRead(ctx context.Context, a objectArgs, ui sdk.UI) (readOutputs, error) {
	r, err := a.resolve()
	if err != nil {
		return readOutputs{}, err
	}
	_, obj, err := r.object(ctx, a.Path)
	if err != nil {
		return readOutputs{}, fmt.Errorf("read %s from %s: %w", a.Path, r.label, err)
	}
	if obj.Size() > maxRead {
		return readOutputs{}, fmt.Errorf("%s on %s holds %s, more than rclone.read's %s: stream it with rclone.download", a.Path, r.label, sizeText(obj.Size()), sizeText(maxRead))
	}
	rc, err := obj.Open(ctx)
	if err != nil {
		return readOutputs{}, fmt.Errorf("read %s from %s: %w", a.Path, r.label, r.wrap(err))
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, maxRead+1))
	switch {
	case err != nil:
		return readOutputs{}, fmt.Errorf("read %s from %s: %w", a.Path, r.label, r.wrap(err))
	case n > maxRead:
		return readOutputs{}, fmt.Errorf("%s on %s holds more than rclone.read's %s: stream it with rclone.download", a.Path, r.label, sizeText(maxRead))
	case obj.Size() >= 0 && n != obj.Size():
		return readOutputs{}, fmt.Errorf("read %s from %s: %d bytes arrived, the remote says it holds %d", a.Path, r.label, n, obj.Size())
	case !utf8.Valid(buf.Bytes()):
		return readOutputs{}, fmt.Errorf("%s on %s is not UTF-8 text: rclone.read returns text (a manifest); stream binary objects with rclone.download", a.Path, r.label)
	}
	return readOutputs{Content: buf.String(), Bytes: n}, nil
}

// pathArgs are the arguments of an action that reads one path of a remote.
type pathArgs interface {
	remoteAndPath() (remoteArgs, string)
}

func (a objectArgs) remoteAndPath() (remoteArgs, string) { return a.remoteArgs, a.Path }
func (a folderArgs) remoteAndPath() (remoteArgs, string) { return a.remoteArgs, a.Path }

// planReading describes an action that changes nothing.
func planReading[A pathArgs](verb string) func(context.Context, A, sdk.Known, sdk.Target) (*sdk.PlanResponse, error) {
	return func(_ context.Context, a A, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
		r, p := a.remoteAndPath()
		if !known.Has("path") {
			p = "the object"
		}
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("%s %s on %s", verb, p, describeRemote(r, known))}, NoOp: true}, nil
	}
}
