package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
)

// stepTarget returns the step's target, or why there is none (a host
// that runs an action without one has a bug).
func stepTarget(ui sdk.UI) (sdk.Target, error) {
	if ui == nil || ui.Target() == nil {
		return nil, errors.New("the host gave the step no target")
	}
	return ui.Target(), nil
}

// targetName names the target in plans, which zrun may make without one.
func targetName(t sdk.Target) string {
	if t == nil {
		return "the target"
	}
	return t.Name()
}

// fileOptions are the arguments that say how a file is published,
// shared by the actions that write files (embedded in their arguments).
type fileOptions struct {
	Mode  *string `zrun:"mode" help:"Permission bits in octal, e.g. \"0640\". Default: the source file's; 0644 for a stream or a template."`
	Owner *string `zrun:"owner" help:"User name or numeric id to own the file. Changing a file's owner needs root: on a remote host, log in as root."`
	Group *string `zrun:"group" help:"Group name or numeric id of the file."`
	Fsync *bool   `zrun:"fsync" help:"Flush each file to disk before it replaces the old one, so that a crash of the host cannot lose it. Default: true; false is still atomic, and faster for large files that are easy to send again."`
}

// validate checks mode, owner and group where they are known.
func (o fileOptions) validate(known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("mode") && o.Mode != nil {
		if _, err := parseMode(*o.Mode); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("mode"), "Invalid mode", err.Error())
		}
	}
	for _, id := range []struct {
		name string
		v    *string
	}{{"owner", o.Owner}, {"group", o.Group}} {
		if known.Has(id.name) && id.v != nil && *id.v == "" {
			diags = diags.Errorf(cty.GetAttrPath(id.name), "Empty "+id.name,
				fmt.Sprintf("%s is a name or a numeric id; remove it to keep the connecting user's.", id.name))
		}
	}
	return diags
}

// create returns the options of Target.Create; mode is the file's when
// the step sets none.
func (o fileOptions) create(mode fs.FileMode) *sdk.CreateOptions {
	if o.Mode != nil {
		if m, err := parseMode(*o.Mode); err == nil {
			mode = m
		}
	}
	return &sdk.CreateOptions{Mode: mode, Owner: deref(o.Owner), Group: deref(o.Group), NoSync: o.Fsync != nil && !*o.Fsync}
}

// parseMode reads permission bits written in octal ("0640" or "640"; an
// HCL number 644 arrives as the string "644" and means the same).
func parseMode(s string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("mode is permission bits in octal, from \"0000\" to \"0777\" (e.g. \"0644\"); got %q.", s)
	}
	return fs.FileMode(n), nil
}

// validateRemotePath checks that a path on the target is absolute: a
// relative one would depend on the login directory of whoever connects.
func validateRemotePath(name, p string, known sdk.Known) sdk.Diagnostics {
	if !known.Has(name) || path.IsAbs(p) {
		return nil
	}
	return sdk.Diagnostics{}.Errorf(cty.GetAttrPath(name), "Relative path on the target",
		fmt.Sprintf("%s must be an absolute path on the target, e.g. \"/etc/app/%s\"; got %q.", name, path.Base(path.Clean("/"+p)), p))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// localTarget is this machine, where the downloads land.
var localTarget = local.Target()

// copyFile copies r into w, a file being published, and publishes it; on
// any error (a read, a write, ctx ending) the file is discarded and what
// was there before stays. It returns the bytes copied.
func copyFile(w sdk.FileWriter, r io.Reader, progress *progress) (int64, error) {
	var n int64
	var err error
	if cr, ok := r.(contextReader); ok && isFile(cr.r) {
		// A local file goes straight to the writer: a remote target's
		// host then copies it itself, and its bytes cross no stream
		// between this plugin and zrun (w is bound to the step's ctx).
		n, err = io.Copy(w, cr.r)
		progress.add(n)
	} else {
		n, err = io.Copy(progress.writer(w), r)
	}
	if err != nil {
		_ = w.Abort()
		return n, err
	}
	if err := w.Close(); err != nil {
		_ = w.Abort()
		return n, err
	}
	return n, nil
}

// progress reports bytes moved to the operator, at most every
// progressEvery, so that a large transfer does not flood the host.
type progress struct {
	ui    sdk.UI
	total int64
	what  string

	mu   sync.Mutex
	done int64
	last time.Time
}

const progressEvery = 250 * time.Millisecond

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= progressEvery || p.done == p.total {
		p.last = now
		p.ui.Progress(p.done, p.total, p.what)
	}
}

// flush reports where the transfer is, however recently it last did.
func (p *progress) flush() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = time.Now()
	p.ui.Progress(p.done, p.total, p.what)
}

func (p *progress) writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return &progressWriter{w: w, p: p}
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(int64(n))
	return n, err
}

// isFile reports whether r is an open local file.
func isFile(r io.Reader) bool {
	_, ok := r.(*os.File)
	return ok
}

// contextReader fails reads once ctx ends, so that copying from a local
// file stops with the step.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
