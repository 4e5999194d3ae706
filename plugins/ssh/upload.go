package ssh

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// defaultFileMode is the mode of an uploaded stream, and of a rendered
// template, when the step sets none.
const defaultFileMode fs.FileMode = 0o644

type uploadArgs struct {
	Src           *string `zrun:"src" help:"A local file or folder to upload, relative to the folder zrun runs in. A folder's content is uploaded into dest, recursively. Exactly one of src and from must be set."`
	From          *string `zrun:"from,stream" help:"A stream another step produces (from = step.dump.stream), uploaded as one file. Exactly one of src and from must be set."`
	Dest          string  `zrun:"dest" help:"Absolute path on the target: the file's path, or the folder to upload a folder into (created when missing)."`
	DirMode       *string `zrun:"dir_mode" help:"Permission bits in octal of the folders created for a folder upload. Default: \"0755\"."`
	SkipUnchanged bool    `zrun:"skip_unchanged,optional" help:"Leave alone a file the target already has with the same size, SHA-256, mode and owner. Costs reading both copies when their sizes match."`
	fileOptions
}

type uploadOutputs struct {
	Changed   bool  `zrun:"changed" help:"Whether any file was written."`
	Files     int   `zrun:"files" help:"How many files were written."`
	Unchanged int   `zrun:"unchanged" help:"How many files skip_unchanged left alone."`
	Bytes     int64 `zrun:"bytes" help:"How many bytes were written."`
}

func newUpload() sdk.Action {
	return sdk.NewAction("upload",
		"Upload a local file, a folder (recursively) or a stream from another step to the target. Every file is "+
			"published atomically: readers see the old content or the new, and a failed upload leaves the old.",
		runUpload, sdk.WithValidate(validateUpload), sdk.WithPlan(planUpload))
}

func validateUpload(_ context.Context, a uploadArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("src") && known.Has("from") {
		switch {
		case a.Src != nil && a.From != nil:
			diags = diags.Errorf(cty.GetAttrPath("from"), "Conflicting arguments",
				`Only one of "src" (a local file or folder) and "from" (a stream from another step) may be set. Remove one of them.`)
		case a.Src == nil && a.From == nil:
			diags = diags.Errorf(cty.GetAttrPath("src"), "Missing source",
				`Set "src" to a local file or folder, or "from" to another step's stream (from = step.dump.stream).`)
		}
	}
	if known.Has("src") && a.Src != nil && *a.Src == "" {
		diags = diags.Errorf(cty.GetAttrPath("src"), "Empty source", `"src" names a local file or folder, e.g. "files/app.conf".`)
	}
	if a.From != nil && a.SkipUnchanged {
		diags = diags.Errorf(cty.GetAttrPath("skip_unchanged"), "Cannot skip an unchanged stream",
			"A stream is uploaded as it arrives, so it cannot be compared first. Remove skip_unchanged, or upload a file with src.")
	}
	if known.Has("dir_mode") && a.DirMode != nil {
		if _, err := parseMode(*a.DirMode); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("dir_mode"), "Invalid mode", err.Error())
		}
	}
	diags = append(diags, validateRemotePath("dest", a.Dest, known)...)
	return append(diags, a.validate(known)...)
}

// source describes a local src for plans and runs: a file, or a folder's
// files with their total size.
type source struct {
	dir   bool
	files int
	bytes int64
	perm  fs.FileMode // a file's
}

func statSource(src string) (*source, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, &sdk.ArgError{Path: cty.GetAttrPath("src"), Summary: "Source not found",
			Detail: fmt.Sprintf("Cannot upload %q: %v. src is a local path, relative to the folder zrun runs in.", src, errors.Unwrap(err))}
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, &sdk.ArgError{Path: cty.GetAttrPath("src"), Summary: "Not a file",
				Detail: fmt.Sprintf("%q is neither a regular file nor a folder.", src)}
		}
		return &source{files: 1, bytes: fi.Size(), perm: fi.Mode().Perm()}, nil
	}
	s := &source{dir: true}
	err = walkSource(src, func(_, _ string, fi fs.FileInfo) error {
		s.files++
		s.bytes += fi.Size()
		return nil
	}, nil)
	return s, err
}

// walkSource calls file for each regular file under root (symbolic links
// to files followed, others skipped through skip) and dir for each
// folder below root, in lexical order. rel is the slash-separated path
// below root.
func walkSource(root string, file func(local, rel string, fi fs.FileInfo) error, dir func(rel string, fi fs.FileInfo) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Stat(p) // follows a symbolic link
		switch {
		case err != nil:
			return err
		case d.IsDir():
			if dir != nil {
				return dir(rel, fi)
			}
			return nil
		case fi.Mode().IsRegular():
			return file(p, rel, fi)
		}
		return nil // a link to a folder, a socket...: not uploaded
	})
}

func planUpload(ctx context.Context, a uploadArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	on := targetName(target)
	if a.Src == nil || !known.Has("src") {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("upload a stream to %s on %s", a.Dest, on)}}, nil
	}
	src, err := statSource(*a.Src)
	if err != nil {
		return nil, err
	}
	if src.dir {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("upload %s (%s) from %s into %s on %s",
			count(src.files, "file"), sizeText(src.bytes), *a.Src, a.Dest, on)}}, nil
	}
	verb := "create"
	if target != nil {
		remote, err := statTarget(ctx, target, a.Dest)
		if err != nil {
			return nil, fmt.Errorf("cannot look at %s on %s: %w", a.Dest, on, err)
		}
		if remote != nil {
			verb = "replace"
		}
		if remote != nil && a.SkipUnchanged {
			o := &owners{t: target}
			same, err := sameContent(ctx, target, a.Dest, remote, *a.Src, src.bytes)
			if err == nil && same && o.sameMeta(ctx, remote, a.create(src.perm)) {
				return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("%s on %s is up to date", a.Dest, on)}, NoOp: true}, nil
			}
		}
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("%s %s on %s from %s (%s)", verb, a.Dest, on, *a.Src, sizeText(src.bytes))}}, nil
}

// uploader uploads local files to one target.
type uploader struct {
	t        sdk.Target
	ui       sdk.UI
	a        *uploadArgs
	owners   *owners
	progress *progress
	out      uploadOutputs
}

func runUpload(ctx context.Context, a uploadArgs, ui sdk.UI) (uploadOutputs, error) {
	target, err := stepTarget(ui)
	if err != nil {
		return uploadOutputs{}, err
	}
	u := &uploader{t: target, ui: ui, a: &a, owners: &owners{t: target}}
	if a.From != nil {
		err = u.stream(ctx)
	} else {
		err = u.local(ctx)
	}
	u.out.Changed = u.out.Files > 0
	if err == nil {
		u.progress.flush()
	}
	return u.out, err
}

// stream uploads the input stream as dest; a stream that fails (its
// producer failed) discards the file.
func (u *uploader) stream(ctx context.Context) error {
	r, err := u.ui.InputStream("from")
	if err != nil {
		return err
	}
	if r == nil {
		return &sdk.ArgError{Path: cty.GetAttrPath("from"), Summary: "No stream",
			Detail: "from is null in this run: set it to another step's stream output, or upload a file with src."}
	}
	defer r.Close()
	w, err := u.t.Create(ctx, u.a.Dest, u.a.create(defaultFileMode))
	if err != nil {
		return fmt.Errorf("upload to %s on %s: %w", u.a.Dest, u.t.Name(), err)
	}
	u.progress = &progress{ui: u.ui, what: u.a.Dest}
	n, err := copyFile(w, r, u.progress)
	if err != nil {
		return fmt.Errorf("upload to %s on %s (nothing published): %w", u.a.Dest, u.t.Name(), err)
	}
	u.out.Files, u.out.Bytes = 1, n
	return nil
}

func (u *uploader) local(ctx context.Context) error {
	src, err := statSource(*u.a.Src)
	if err != nil {
		return err
	}
	u.progress = &progress{ui: u.ui, total: src.bytes, what: u.a.Dest}
	if !src.dir {
		remote, err := statTarget(ctx, u.t, u.a.Dest)
		if err != nil {
			return fmt.Errorf("upload to %s on %s: %w", u.a.Dest, u.t.Name(), err)
		}
		if remote != nil && remote.IsDir() {
			return &sdk.ArgError{Path: cty.GetAttrPath("dest"), Summary: "Destination is a folder",
				Detail: fmt.Sprintf("%s is a folder on %s; dest is the uploaded file's own path, e.g. %q.", u.a.Dest, u.t.Name(), path.Join(u.a.Dest, filepath.Base(*u.a.Src)))}
		}
		return u.file(ctx, *u.a.Src, u.a.Dest, src.perm, remote)
	}
	return u.folder(ctx, *u.a.Src)
}

// folder uploads root's files below dest, creating its folders. Each
// file is published atomically; the folder as a whole is not (a failure
// halfway leaves the files already published).
func (u *uploader) folder(ctx context.Context, root string) error {
	dirMode := fs.FileMode(0o755)
	if u.a.DirMode != nil {
		dirMode, _ = parseMode(*u.a.DirMode)
	}
	if err := u.t.MkdirAll(ctx, u.a.Dest, dirMode); err != nil {
		return fmt.Errorf("create %s on %s: %w", u.a.Dest, u.t.Name(), err)
	}
	// With skip_unchanged, one ReadDir per folder says what the target has,
	// rather than one Stat per file.
	listed := map[string]map[string]*sdk.FileInfo{}
	remoteInfo := func(dir, name string) (*sdk.FileInfo, error) {
		if !u.a.SkipUnchanged {
			return nil, nil
		}
		entries, ok := listed[dir]
		if !ok {
			infos, err := u.t.ReadDir(ctx, dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			entries = map[string]*sdk.FileInfo{}
			for _, fi := range infos {
				entries[fi.Name] = fi
			}
			listed[dir] = entries
		}
		return entries[name], nil
	}
	return walkSource(root, func(local, rel string, fi fs.FileInfo) error {
		dest := path.Join(u.a.Dest, rel)
		remote, err := remoteInfo(path.Dir(dest), path.Base(dest))
		if err != nil {
			return fmt.Errorf("list %s on %s: %w", path.Dir(dest), u.t.Name(), err)
		}
		if remote != nil && remote.IsDir() {
			return fmt.Errorf("cannot upload %s: %s is a folder on %s", local, dest, u.t.Name())
		}
		return u.file(ctx, local, dest, fi.Mode().Perm(), remote)
	}, func(rel string, _ fs.FileInfo) error {
		dest := path.Join(u.a.Dest, rel)
		if err := u.t.MkdirAll(ctx, dest, dirMode); err != nil {
			return fmt.Errorf("create %s on %s: %w", dest, u.t.Name(), err)
		}
		return nil
	})
}

// file uploads one local file as dest; remote is what the target has
// there (nil when missing, or when unchanged files are not skipped).
func (u *uploader) file(ctx context.Context, local, dest string, perm fs.FileMode, remote *sdk.FileInfo) error {
	opts := u.a.create(perm)
	if u.a.SkipUnchanged && remote != nil {
		fi, err := os.Stat(local)
		if err != nil {
			return err
		}
		same, err := sameContent(ctx, u.t, dest, remote, local, fi.Size())
		if err != nil {
			return fmt.Errorf("compare %s with %s on %s: %w", local, dest, u.t.Name(), err)
		}
		if same && u.owners.sameMeta(ctx, remote, opts) {
			u.out.Unchanged++
			u.progress.add(fi.Size())
			return nil
		}
	}
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := u.t.Create(ctx, dest, opts)
	if err != nil {
		return fmt.Errorf("upload %s to %s on %s: %w", local, dest, u.t.Name(), err)
	}
	n, err := copyFile(w, contextReader{ctx, f}, u.progress)
	if err != nil {
		return fmt.Errorf("upload %s to %s on %s (nothing published): %w", local, dest, u.t.Name(), err)
	}
	u.out.Files++
	u.out.Bytes += n
	return nil
}

// count renders "1 file", "2 files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sizeText renders a byte count for people: "512 B", "1.5 MiB".
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
