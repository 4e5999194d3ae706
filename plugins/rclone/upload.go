package rclone

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type uploadArgs struct {
	From string `zrun:"from,stream" help:"The stream to upload (from = step.dump.stream). A stream whose producer fails aborts the upload."`
	remoteArgs
	Path string `zrun:"path" help:"The object's path inside the remote, e.g. \"bucket/db/2026-12-01T0300Z.dump.zst\" on s3, \"/srv/backups/db.dump\" on sftp."`
}

type uploadOutputs struct {
	Path   string `zrun:"path" help:"The object's path, as given."`
	Bytes  int64  `zrun:"bytes" help:"How many bytes were uploaded."`
	SHA256 string `zrun:"sha256" help:"The SHA-256 of the uploaded bytes (hex), computed while streaming."`
	MD5    string `zrun:"md5" help:"The MD5 of the uploaded bytes (hex)."`
}

func newUpload() sdk.Action {
	return sdk.NewAction("upload",
		"Upload a stream to an object on a remote, with no temporary file on this machine (multipart on S3 and B2). "+
			"An upload that fails, or whose stream fails, is aborted and leaves nothing complete-looking at path.",
		runUpload, sdk.WithValidate(validateUpload), sdk.WithPlan(planUpload))
}

func validateUpload(_ context.Context, a uploadArgs, known sdk.Known) sdk.Diagnostics {
	return append(a.validate(known), validateObjectPath("path", a.Path, known)...)
}

func planUpload(_ context.Context, a uploadArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("path") {
		a.Path = "an object"
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("upload a stream to %s on %s", a.Path, describeRemote(a.remoteArgs, known))}}, nil
}

func runUpload(ctx context.Context, a uploadArgs, ui sdk.UI) (uploadOutputs, error) {
	in, err := ui.InputStream("from")
	if err != nil {
		return uploadOutputs{}, err
	}
	if in == nil {
		return uploadOutputs{}, &sdk.ArgError{Path: cty.GetAttrPath("from"), Summary: "No stream",
			Detail: "from is null in this run: set it to another step's stream output (from = step.dump.stream)."}
	}
	defer in.Close()
	r, err := a.resolve()
	if err != nil {
		return uploadOutputs{}, err
	}
	prog := newProgress(ui, 0, "upload "+a.Path)
	m := newMeter(in, prog)
	if _, err := putAtomic(ctx, r, a.Path, m, -1); err != nil {
		return uploadOutputs{}, fmt.Errorf("upload to %s on %s failed, nothing published: %w", a.Path, r.label, err)
	}
	prog.finish(m.n)
	s := m.sums()
	return uploadOutputs{Path: a.Path, Bytes: s.bytes, SHA256: s.sha256, MD5: s.md5}, nil
}

type writeArgs struct {
	remoteArgs
	Path    string `zrun:"path" help:"The object's path inside the remote."`
	Content string `zrun:"content" help:"What the object holds (a manifest, a marker): written whole or not at all."`
}

type writeOutputs struct {
	Bytes  int64  `zrun:"bytes" help:"How many bytes were written."`
	SHA256 string `zrun:"sha256" help:"The SHA-256 of the content (hex)."`
}

func newWrite() sdk.Action {
	return sdk.NewAction("write",
		"Write a small object (a manifest) atomically: readers see the old object, or none, or the whole new one.",
		runWrite, sdk.WithValidate(validateWrite), sdk.WithPlan(planWrite))
}

func validateWrite(_ context.Context, a writeArgs, known sdk.Known) sdk.Diagnostics {
	diags := append(a.validate(known), validateObjectPath("path", a.Path, known)...)
	if known.Has("content") && len(a.Content) > maxRead {
		diags = diags.Errorf(cty.GetAttrPath("content"), "Content too large",
			fmt.Sprintf("rclone.write takes at most %s; stream a larger object with rclone.upload.", sizeText(maxRead)))
	}
	return diags
}

func planWrite(_ context.Context, a writeArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("write %s (%s) on %s", a.Path, sizeText(int64(len(a.Content))), describeRemote(a.remoteArgs, known))}}, nil
}

func runWrite(ctx context.Context, a writeArgs, ui sdk.UI) (writeOutputs, error) {
	r, err := a.resolve()
	if err != nil {
		return writeOutputs{}, err
	}
	m := newMeter(strings.NewReader(a.Content), newProgress(ui, int64(len(a.Content)), "write "+a.Path))
	if _, err := putAtomic(ctx, r, a.Path, m, int64(len(a.Content))); err != nil {
		return writeOutputs{}, fmt.Errorf("write %s on %s failed: %w", a.Path, r.label, err)
	}
	s := m.sums()
	return writeOutputs{Bytes: s.bytes, SHA256: s.sha256}, nil
}

// validateObjectPath checks an object's path argument.
func validateObjectPath(arg, p string, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has(arg) {
		return nil
	}
	switch {
	case p == "" || strings.HasSuffix(p, "/"):
		diags = diags.Errorf(cty.GetAttrPath(arg), "Invalid object path",
			fmt.Sprintf("%s is an object's path inside the remote, e.g. \"bucket/db/latest.dump\"; it cannot be empty or end in a slash.", arg))
	case strings.Contains(p, "\x00") || strings.Contains(p, "\n"):
		diags = diags.Errorf(cty.GetAttrPath(arg), "Invalid object path", "An object's path cannot hold a NUL or a newline.")
	}
	return diags
}

// describeRemote names a remote in a plan without any of its values but
// its type and section name.
func describeRemote(a remoteArgs, known sdk.Known) string {
	if !known.Has("remote") || a.Remote.IsNull() {
		return "the remote"
	}
	if a.Remote.Type() == cty.String {
		return fmt.Sprintf("remote %q", strings.TrimSuffix(a.Remote.AsString(), ":"))
	}
	if a.Remote.Type().IsObjectType() && a.Remote.Type().HasAttribute("type") {
		if t, ok := stringValue(a.Remote.GetAttr("type")); ok {
			return "the " + t + " remote"
		}
	}
	return "the remote"
}
