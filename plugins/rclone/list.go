package rclone

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/walk"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type folderArgs struct {
	remoteArgs
	Path string `zrun:"path" help:"The folder (on s3 and b2: bucket and prefix) inside the remote, e.g. \"bucket/db\"; \"\" for the remote's root."`
}

func (a *folderArgs) validate(known sdk.Known) sdk.Diagnostics {
	diags := a.remoteArgs.validate(known)
	if known.Has("path") && strings.ContainsAny(a.Path, "\x00\n") {
		diags = diags.Errorf(cty.GetAttrPath("path"), "Invalid folder path", "A folder's path cannot hold a NUL or a newline.")
	}
	return diags
}

type listArgs struct {
	folderArgs
	Recursive bool    `zrun:"recursive,optional" help:"Also list the objects of the folder's subfolders. Default: false."`
	Match     *string `zrun:"match" help:"A regular expression (RE2) on an object's name below the folder: only the objects it matches are listed (\"\\\\.manifest\\\\.json$\": the backups' manifests). Default: every object."`
}

// listedObject is one object of a listing.
type listedObject struct {
	Path     string `cty:"path"`
	Name     string `cty:"name"`
	Bytes    int64  `cty:"bytes"`
	Modified string `cty:"modified"`
}

type listOutputs struct {
	Objects []listedObject `zrun:"objects" help:"The objects, sorted by path: path (the folder joined with name, as the other actions take it), name (below the folder), bytes, modified (RFC 3339, UTC). Hidden partial uploads are left out."`
}

func newList() sdk.Action {
	return sdk.NewAction("list", "List the objects of a folder on a remote.", runList,
		sdk.WithValidate(func(_ context.Context, a listArgs, known sdk.Known) sdk.Diagnostics {
			_, diags := compileMatch(a.Match, known, a.validate(known))
			return diags
		}),
		sdk.WithPlan(planReading[listArgs]("list")))
}

func runList(ctx context.Context, a listArgs, _ sdk.UI) (listOutputs, error) {
	r, err := a.resolve()
	if err != nil {
		return listOutputs{}, err
	}
	objs, err := listFolder(ctx, r, a.Path, a.Recursive)
	if err != nil {
		return listOutputs{}, fmt.Errorf("list %s on %s: %w", a.Path, r.label, err)
	}
	match, _ := compileMatch(a.Match, sdk.Known{}, nil) // validated: every argument is known now
	out := listOutputs{Objects: []listedObject{}}
	for _, o := range objs {
		if match != nil && !match.MatchString(o.name) {
			continue
		}
		out.Objects = append(out.Objects, listedObject{Path: o.path, Name: o.name, Bytes: o.size,
			Modified: o.modified.UTC().Format(time.RFC3339)})
	}
	return out, nil
}

// entry is an object found in a folder.
type entry struct {
	path, name string // name: below the folder
	size       int64
	modified   time.Time
}

// listFolder lists the objects below dir, sorted by path; a folder that
// does not exist holds nothing.
func listFolder(ctx context.Context, r *remote, dir string, recursive bool) ([]entry, error) {
	dir = strings.TrimSuffix(dir, "/")
	f, err := r.fs(ctx, dir)
	if err != nil {
		return nil, err
	}
	depth := 1
	if recursive {
		depth = -1
	}
	var out []entry
	err = walk.Walk(ctx, f, "", true, depth, func(_ string, entries fs.DirEntries, err error) error {
		if err != nil {
			return err
		}
		for _, e := range entries {
			o, ok := e.(fs.Object)
			if !ok || isTemp(path.Base(o.Remote())) {
				continue
			}
			p := o.Remote()
			if dir != "" {
				p = dir + "/" + p
			}
			out = append(out, entry{path: p, name: o.Remote(), size: o.Size(), modified: o.ModTime(ctx)})
		}
		return nil
	})
	if errors.Is(err, fs.ErrorDirNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, r.wrap(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

type deleteArgs struct {
	objectArgs
	MissingOK bool `zrun:"missing_ok,optional" help:"Succeed when the object does not exist. Default: false (a missing object is an error)."`
}

type deleteOutputs struct {
	Deleted bool `zrun:"deleted" help:"Whether an object was deleted (false only with missing_ok and no object)."`
}

func newDelete() sdk.Action {
	return sdk.NewAction("delete", "Delete one object from a remote.", runDelete,
		sdk.WithValidate(func(_ context.Context, a deleteArgs, known sdk.Known) sdk.Diagnostics { return a.validate(known) }),
		sdk.WithPlan(planDelete))
}

func planDelete(_ context.Context, a deleteArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("delete %s on %s", a.Path, describeRemote(a.remoteArgs, known))}}, nil
}

func runDelete(ctx context.Context, a deleteArgs, _ sdk.UI) (deleteOutputs, error) {
	r, err := a.resolve()
	if err != nil {
		return deleteOutputs{}, err
	}
	_, obj, err := r.object(ctx, a.Path)
	if errors.Is(err, fs.ErrorObjectNotFound) || errors.Is(err, fs.ErrorDirNotFound) {
		if a.MissingOK {
			return deleteOutputs{}, nil
		}
		return deleteOutputs{}, fmt.Errorf("delete %s on %s: no such object (set missing_ok = true to accept that)", a.Path, r.label)
	}
	if err != nil {
		return deleteOutputs{}, fmt.Errorf("delete %s on %s: %w", a.Path, r.label, err)
	}
	if err := obj.Remove(ctx); err != nil {
		return deleteOutputs{}, fmt.Errorf("delete %s on %s: %w", a.Path, r.label, r.wrap(err))
	}
	return deleteOutputs{Deleted: true}, nil
}
