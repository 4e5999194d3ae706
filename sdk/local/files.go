package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// Open opens path for reading. Once ctx ends, reads fail with its cause; a
// read blocked on a pipe or a FIFO is woken by a deadline.
func (t *target) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &ctxReader{f: f, ctx: ctx}
	// Regular files have no deadlines (SetReadDeadline fails, harmlessly):
	// their reads do not block, and the check in Read stops them.
	r.stop = context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	return r, nil
}

// ctxReader is a file whose reads fail once its ctx has ended.
type ctxReader struct {
	f    *os.File
	ctx  context.Context
	stop func() bool
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if r.ctx.Err() != nil {
		return 0, context.Cause(r.ctx)
	}
	n, err := r.f.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && r.ctx.Err() != nil {
		return n, context.Cause(r.ctx)
	}
	return n, err
}

func (r *ctxReader) Close() error {
	r.stop()
	return r.f.Close()
}

// Create writes to a temporary file beside path ("."+base+".tmp-*", so a
// directory listing shows whose it is) and publishes it on Close. The
// owner is resolved here, so that a wrong name fails before any byte is
// written.
func (t *target) Create(ctx context.Context, path string, opts *sdk.CreateOptions) (sdk.FileWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	if opts == nil {
		opts = &sdk.CreateOptions{}
	}
	uid, gid, err := owner(opts.Owner, opts.Group)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, &fs.PathError{Op: "create", Path: path, Err: syscall.EISDIR}
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		// CreateTemp names its pattern in the error; the caller knows path.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, err
	}
	w := &fileWriter{f: f, path: path, dir: dir, mode: createMode(opts.Mode), uid: uid, gid: gid, noSync: opts.NoSync, ctx: ctx}
	w.stop = context.AfterFunc(ctx, func() { _ = w.discard(context.Cause(ctx)) })
	return w, nil
}

// createMode is the permission bits Create sets: the zero mode is 0644.
// The Unix bits of set-user-id, set-group-id and sticky (04000, 02000,
// 01000: a mode parsed from "2750" with strconv) mean what Go's do.
func createMode(m fs.FileMode) fs.FileMode {
	for unix, gobit := range map[fs.FileMode]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if m&unix != 0 {
			m |= gobit
		}
	}
	m &= fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if m == 0 {
		return 0o644
	}
	return m
}

// owner resolves a user and a group, each a name or a numeric id, to the
// ids os.Chown takes; -1 leaves one unchanged.
func owner(u, g string) (uid, gid int, err error) {
	uid, err = id("owner", u, func(name string) (string, error) {
		usr, err := user.Lookup(name)
		if err != nil {
			return "", err
		}
		return usr.Uid, nil
	})
	if err != nil {
		return -1, -1, err
	}
	gid, err = id("group", g, func(name string) (string, error) {
		grp, err := user.LookupGroup(name)
		if err != nil {
			return "", err
		}
		return grp.Gid, nil
	})
	return uid, gid, err
}

// id is -1 for "", the number s, or the id lookup finds for the name s.
func id(what, s string, lookup func(string) (string, error)) (int, error) {
	if s == "" {
		return -1, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	found, err := lookup(s)
	if err != nil {
		return -1, fmt.Errorf("%s %q: %w", what, s, err)
	}
	return strconv.Atoi(found)
}

// fileWriter is a file being written by Create. mu serialises Write,
// Close and Abort with the discard that the end of ctx triggers.
type fileWriter struct {
	path, dir string
	mode      fs.FileMode
	uid, gid  int
	noSync    bool
	ctx       context.Context
	stop      func() bool

	mu   sync.Mutex
	f    *os.File
	done error // why the file can no longer be written; nil while open
}

// errPublished is the state of a file that Close has published.
var errPublished = errors.New("the file has been published")

func (w *fileWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		return 0, fmt.Errorf("write %s: %w", w.path, w.done)
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.discardLocked(err)
		return n, fmt.Errorf("write %s: %w", w.path, err)
	}
	return n, nil
}

// Close publishes the file: sync, owner, mode, rename over path, sync the
// directory so that the rename survives a crash. The owner goes first:
// chown clears the set-user-id and set-group-id bits.
func (w *fileWriter) Close() error {
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		if w.done == errPublished {
			return nil
		}
		return fmt.Errorf("close %s: %w", w.path, w.done)
	}
	if err := w.publish(); err != nil {
		w.discardLocked(err)
		return err
	}
	w.done = errPublished
	return nil
}

func (w *fileWriter) publish() error {
	if err := w.ctx.Err(); err != nil {
		return context.Cause(w.ctx)
	}
	if w.uid != -1 || w.gid != -1 {
		if err := w.f.Chown(w.uid, w.gid); err != nil {
			return fmt.Errorf("chown %s: %w", w.path, err)
		}
	}
	// fchmod is not subject to the umask: the mode is exact.
	if err := w.f.Chmod(w.mode); err != nil {
		return fmt.Errorf("chmod %s: %w", w.path, err)
	}
	if !w.noSync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", w.path, err)
		}
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	if err := os.Rename(w.f.Name(), w.path); err != nil {
		return err
	}
	if w.noSync {
		return nil
	}
	return syncDir(w.dir)
}

// Abort discards the file; after Close it does nothing.
func (w *fileWriter) Abort() error {
	w.stop()
	return w.discard(errors.New("aborted"))
}

func (w *fileWriter) discard(why error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.discardLocked(why)
}

func (w *fileWriter) discardLocked(why error) error {
	if w.done != nil {
		return nil
	}
	w.done = fmt.Errorf("the file was discarded: %w", why)
	_ = w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Stat describes path without following a final symbolic link.
func (t *target) Stat(ctx context.Context, path string) (*sdk.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return fileInfo(fi), nil
}

// ReadDir lists path, sorted by name. An entry removed while it is listed
// is left out.
func (t *target) ReadDir(ctx context.Context, path string) ([]*sdk.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	entries, err := os.ReadDir(path) // sorted by name
	if err != nil {
		return nil, err
	}
	out := make([]*sdk.FileInfo, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, fileInfo(fi))
	}
	return out, nil
}

func fileInfo(fi fs.FileInfo) *sdk.FileInfo {
	out := &sdk.FileInfo{Name: fi.Name(), Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.UID, out.GID = int(st.Uid), int(st.Gid)
	}
	return out
}

// MkdirAll creates path and its missing parents with perm, less the umask
// as mkdir -p does.
func (t *target) MkdirAll(ctx context.Context, path string, perm fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	return os.MkdirAll(path, perm)
}

func (t *target) Remove(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	return os.Remove(path)
}

func (t *target) Rename(ctx context.Context, oldpath, newpath string) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	return os.Rename(oldpath, newpath)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Interface guards
var _ sdk.FileWriter = (*fileWriter)(nil)
