package ssh

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type downloadArgs struct {
	Src  string  `zrun:"src" help:"Absolute path of a file or folder on the target. A folder is downloaded recursively."`
	Dest *string `zrun:"dest" help:"Local path to write to, relative to the folder zrun runs in: the file's path, or the folder to download a folder into (created when missing). May be left out when another step consumes the stream output."`
	Mode *string `zrun:"mode" help:"Permission bits in octal of the local files. Default: each target file's."`
}

type downloadOutputs struct {
	Stream string `zrun:"stream,stream" help:"The file's bytes as a stream, for another step to consume (from = step.fetch.stream)."`
	Files  int    `zrun:"files" help:"How many files were downloaded."`
	Bytes  int64  `zrun:"bytes" help:"How many bytes were downloaded."`
}

func newDownload() sdk.Action {
	return sdk.NewAction("download",
		"Download a file or a folder from the target to a local path, or a file into a stream another step "+
			"consumes. Every local file is published atomically; a failed download leaves what was there.",
		runDownload, sdk.WithValidate(validateDownload), sdk.WithPlan(planDownload))
}

func validateDownload(_ context.Context, a downloadArgs, known sdk.Known) sdk.Diagnostics {
	diags := validateRemotePath("src", a.Src, known)
	if known.Has("dest") && a.Dest != nil && *a.Dest == "" {
		diags = diags.Errorf(cty.GetAttrPath("dest"), "Empty destination", `"dest" is a local path, e.g. "backups/app.conf"; leave it out to download into the stream output only.`)
	}
	return append(diags, fileOptions{Mode: a.Mode}.validate(known)...)
}

func planDownload(_ context.Context, a downloadArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	to := "the stream output"
	if a.Dest != nil {
		to = *a.Dest
	} else if !known.Has("dest") {
		to = "a local path (known at run time)"
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("download %s from %s to %s", a.Src, targetName(target), to)}}, nil
}

func runDownload(ctx context.Context, a downloadArgs, ui sdk.UI) (downloadOutputs, error) {
	var out downloadOutputs
	target, err := stepTarget(ui)
	if err != nil {
		return out, err
	}
	stream, err := ui.OutputStream("stream")
	if err != nil {
		return out, err
	}
	if stream != nil {
		defer stream.Close()
	}
	if a.Dest == nil && stream == nil {
		return out, &sdk.ArgError{Path: cty.GetAttrPath("dest"), Summary: "Nowhere to download to",
			Detail: fmt.Sprintf("Set dest to a local path, or consume the stream output in another step (from = %s.stream).", ui.Info().Step)}
	}
	remote, err := target.Stat(ctx, a.Src)
	if err != nil {
		return out, fmt.Errorf("download %s from %s: %w", a.Src, target.Name(), err)
	}
	d := &downloader{t: target, mode: a.Mode, out: &out, progress: &progress{ui: ui, what: a.Src}}
	if remote.IsDir() {
		if stream != nil {
			return out, &sdk.ArgError{Path: cty.GetAttrPath("src"), Summary: "Cannot stream a folder",
				Detail: fmt.Sprintf("%s is a folder on %s; a stream carries one file. Download it to dest without consuming the stream, or archive it first (tar) and download the archive.", a.Src, target.Name())}
		}
		if err := os.MkdirAll(*a.Dest, 0o755); err != nil {
			return out, err
		}
		err = d.folder(ctx, a.Src, *a.Dest)
	} else {
		perm := remote.Mode.Perm()
		d.progress.total = remote.Size
		if remote.Mode&fs.ModeSymlink != 0 {
			// Downloaded as the file it points to (Open follows it), whose
			// size and mode Stat did not say.
			perm, d.progress.total = defaultFileMode, 0
		}
		err = d.file(ctx, a.Src, a.Dest, perm, stream)
	}
	if err == nil {
		d.progress.flush()
	}
	return out, err
}

// downloader downloads files from one target.
type downloader struct {
	t        sdk.Target
	mode     *string
	out      *downloadOutputs
	progress *progress
}

// file copies the target's file src to dest (when not nil) and to stream
// (when not nil). The local file is published only once every byte has
// arrived; a failure discards it.
func (d *downloader) file(ctx context.Context, src string, dest *string, perm fs.FileMode, stream io.Writer) error {
	r, err := d.t.Open(ctx, src)
	if err != nil {
		return fmt.Errorf("download %s from %s: %w", src, d.t.Name(), err)
	}
	defer r.Close()
	// The local side is published as Target.Create publishes any file:
	// this machine's own target does it.
	var local sdk.FileWriter
	var w io.Writer = io.Discard
	if dest != nil {
		if local, err = localTarget.Create(ctx, *dest, &sdk.CreateOptions{Mode: fileOptions{Mode: d.mode}.create(perm).Mode}); err != nil {
			return fmt.Errorf("download %s from %s: %w", src, d.t.Name(), err)
		}
		w = local
	}
	if stream != nil {
		w = io.MultiWriter(w, stream)
		if dest == nil {
			w = stream
		}
	}
	n, err := io.Copy(d.progress.writer(w), r)
	if err == nil && local != nil {
		err = local.Close()
	}
	if err != nil {
		if local != nil {
			_ = local.Abort()
		}
		return fmt.Errorf("download %s from %s (nothing published): %w", src, d.t.Name(), err)
	}
	d.out.Files++
	d.out.Bytes += n
	return nil
}

// folder downloads the target's folder src into the local folder dest,
// recursively. Symbolic links inside it are not followed (the target
// cannot say where they point).
func (d *downloader) folder(ctx context.Context, src, dest string) error {
	entries, err := d.t.ReadDir(ctx, src)
	if err != nil {
		return fmt.Errorf("list %s on %s: %w", src, d.t.Name(), err)
	}
	for _, e := range entries {
		from, to := path.Join(src, e.Name), filepath.Join(dest, e.Name)
		switch {
		case e.IsDir():
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			if err := d.folder(ctx, from, to); err != nil {
				return err
			}
		case e.Mode.IsRegular():
			if err := d.file(ctx, from, &to, e.Mode.Perm(), nil); err != nil {
				return err
			}
		}
	}
	return nil
}
