package targets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pkg/sftp"

	"github.com/zrun-dev/zrun/sdk"
)

// files returns the SFTP session of the host's connection.
func (h *host) files(ctx context.Context) (*sftp.Client, error) {
	_, sc, err := h.filesOf(ctx)
	return sc, err
}

// filesOf is files with the connection it belongs to.
func (h *host) filesOf(ctx context.Context) (*conn, *sftp.Client, error) {
	c, err := h.conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	sc, err := c.sftpClient()
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: starting SFTP (the server's sftp subsystem): %w", h.cfg.label(), err)
	}
	return c, sc, nil
}

// do runs an SFTP call until it returns or ctx ends, whichever is first
// (pkg/sftp's calls take no ctx; one abandoned ends on its own).
func do(ctx context.Context, op, name string, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			return &fs.PathError{Op: op, Path: name, Err: err}
		}
		return nil
	case <-ctx.Done():
		return &fs.PathError{Op: op, Path: name, Err: context.Cause(ctx)}
	}
}

// Open streams a file from the host: many reads in flight ahead of the
// reader (pkg/sftp's WriteTo), a few MiB at most.
func (h *host) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	sc, err := h.files(ctx)
	if err != nil {
		return nil, err
	}
	var f *sftp.File
	if err := do(ctx, "open", name, func() (err error) { f, err = sc.Open(name); return err }); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	r := &fileReader{ctx: ctx, pr: pr, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_, err := f.WriteTo(pw)
		pw.CloseWithError(err)
		f.Close()
	}()
	// Ends the fetching ahead (WriteTo's writes fail) once the ctx ends.
	r.stop = context.AfterFunc(ctx, func() { pr.CloseWithError(context.Cause(ctx)) })
	return r, nil
}

type fileReader struct {
	ctx  context.Context
	pr   *io.PipeReader
	done chan struct{}
	stop func() bool
}

// Read fails once the ctx has ended, with its cause: the bytes already
// fetched ahead are not handed out after it.
func (r *fileReader) Read(p []byte) (int, error) {
	if r.ctx.Err() != nil {
		return 0, context.Cause(r.ctx)
	}
	n, err := r.pr.Read(p)
	if err != nil && r.ctx.Err() != nil {
		return n, context.Cause(r.ctx)
	}
	return n, err
}

func (r *fileReader) Close() error {
	r.stop()
	r.pr.CloseWithError(os.ErrClosed)
	<-r.done
	return nil
}

// Create writes a temporary file beside name and publishes it on Close.
func (h *host) Create(ctx context.Context, name string, opts *sdk.CreateOptions) (sdk.FileWriter, error) {
	if opts == nil {
		opts = &sdk.CreateOptions{}
	}
	mode := opts.Mode
	if mode == 0 {
		mode = 0o644
	}
	c, sc, err := h.filesOf(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := tempName(name)
	if err != nil {
		return nil, err
	}
	var f *sftp.File
	err = do(ctx, "create", name, func() (err error) {
		if f, err = sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL); err != nil {
			return err
		}
		// The mode is set before any byte is written: a secret's file is
		// never readable by others, not even while it is being written.
		return f.Chmod(mode)
	})
	if err != nil {
		if f != nil {
			f.Close()
			sc.Remove(tmp)
		}
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &fileWriter{h: h, sc: sc, f: f, name: name, tmp: tmp, mode: mode, opts: opts, pw: pw, copied: make(chan error, 1)}
	if !opts.NoSync {
		w.flush = newFlusher(c, tmp)
	}
	go func() {
		// Up to pkg/sftp's 64 writes in flight, fed from the pipe.
		_, err := f.ReadFromWithConcurrency(pr, 0)
		pr.CloseWithError(err)
		w.copied <- err
	}()
	w.stop = context.AfterFunc(ctx, func() { w.discard(context.Cause(ctx)) })
	w.ctx = ctx
	return w, nil
}

// tempName is a hidden name beside name, unique to one Create.
func tempName(name string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir, base := path.Split(name)
	return dir + "." + base + ".zrun-" + hex.EncodeToString(b[:]) + ".tmp", nil
}

// fileWriter is a file being written by Create. Its bytes flow through a
// pipe to pkg/sftp's concurrent writer, so a Write returns once they are
// handed over, not once they are on the host's disk.
type fileWriter struct {
	h          *host
	ctx        context.Context
	sc         *sftp.Client
	f          *sftp.File
	name, tmp  string
	mode       fs.FileMode
	opts       *sdk.CreateOptions
	pw         *io.PipeWriter
	copied     chan error
	stop       func() bool
	finishOnce onceErr
	// flush writes the file to disk behind the transfer (nil: not synced).
	flush *flusher
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if w.flush != nil {
		w.flush.wrote(n)
	}
	if err != nil {
		w.discard(err)
		return n, &fs.PathError{Op: "write", Path: w.name, Err: err}
	}
	return n, nil
}

// Close publishes the file: sync, owner, rename over name.
func (w *fileWriter) Close() error {
	// The ctx's end may not have reached discard yet: it wins all the same.
	if w.ctx.Err() != nil {
		w.discard(context.Cause(w.ctx))
	}
	return w.finishOnce.do(func() error {
		w.stop()
		w.pw.Close()
		err := w.publish()
		if err != nil {
			w.remove()
		}
		return err
	})
}

// Abort discards the file; after Close it does nothing.
func (w *fileWriter) Abort() error {
	w.discard(errors.New("aborted"))
	return nil
}

func (w *fileWriter) discard(cause error) {
	w.finishOnce.do(func() error {
		w.stop()
		w.pw.CloseWithError(cause)
		<-w.copied
		w.remove()
		return fmt.Errorf("%s was discarded: %w", w.name, cause)
	})
}

func (w *fileWriter) remove() {
	w.flush.end(false)
	w.f.Close()
	w.sc.Remove(w.tmp)
}

func (w *fileWriter) publish() error {
	if err := <-w.copied; err != nil {
		return &fs.PathError{Op: "write", Path: w.name, Err: err}
	}
	// fsync@openssh.com; a server without it still gets the rename. Most
	// of the file is on disk already, flushed behind the transfer.
	w.flush.end(true)
	if !w.opts.NoSync {
		if err := w.f.Sync(); err != nil && !isUnsupported(err) {
			return &fs.PathError{Op: "sync", Path: w.name, Err: err}
		}
	}
	if err := w.f.Close(); err != nil {
		return &fs.PathError{Op: "close", Path: w.name, Err: err}
	}
	if w.opts.Owner != "" || w.opts.Group != "" {
		if err := w.chown(); err != nil {
			return err
		}
	}
	if err := w.sc.PosixRename(w.tmp, w.name); err != nil {
		return &fs.PathError{Op: "rename", Path: w.name, Err: err}
	}
	return nil
}

// chown sets the owner and group, then the mode again: chown clears the
// setuid and setgid bits.
func (w *fileWriter) chown() error {
	st, err := w.sc.Lstat(w.tmp)
	if err != nil {
		return &fs.PathError{Op: "chown", Path: w.name, Err: err}
	}
	uid, gid := ownerOf(st)
	if w.opts.Owner != "" {
		if uid, err = w.h.resolveID(w.ctx, "user", w.opts.Owner); err != nil {
			return err
		}
	}
	if w.opts.Group != "" {
		if gid, err = w.h.resolveID(w.ctx, "group", w.opts.Group); err != nil {
			return err
		}
	}
	if err := w.sc.Chown(w.tmp, uid, gid); err != nil {
		return &fs.PathError{Op: "chown", Path: w.name, Err: fmt.Errorf("%w (to %d:%d; changing a file's owner needs root on the host: log in as root)", err, uid, gid)}
	}
	if err := w.sc.Chmod(w.tmp, w.mode); err != nil {
		return &fs.PathError{Op: "chmod", Path: w.name, Err: err}
	}
	return nil
}

func ownerOf(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return int(st.UID), int(st.GID)
	}
	return -1, -1
}

func isUnsupported(err error) bool {
	var st *sftp.StatusError
	return errors.As(err, &st) && st.FxCode() == sftp.ErrSSHFxOpUnsupported
}

// onceErr runs one function once and keeps its error for later calls.
type onceErr struct {
	mu   sync.Mutex
	done bool
	err  error
}

func (o *onceErr) do(f func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done {
		o.done = true
		o.err = f()
	}
	return o.err
}

// resolveID turns a user or group name into its numeric id on the host
// (`id -u NAME`, `getent group NAME`); a number is taken as it is.
func (h *host) resolveID(ctx context.Context, kind, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	args := []string{"id", "-u", "--", name}
	if kind == "group" {
		args = []string{"getent", "group", "--", name}
	}
	var out bytes.Buffer
	res, err := h.Exec(ctx, &sdk.Command{Args: args, Stdout: &out})
	if err != nil {
		return 0, err
	}
	field := strings.TrimSpace(out.String())
	if kind == "group" {
		if parts := strings.Split(field, ":"); len(parts) > 2 {
			field = parts[2]
		}
	}
	n, convErr := strconv.Atoi(field)
	if res.ExitCode != 0 || convErr != nil {
		return 0, fmt.Errorf("host %s has no %s named %q", h.cfg.label(), kind, name)
	}
	return n, nil
}

// Stat describes name without following a final symbolic link.
func (h *host) Stat(ctx context.Context, name string) (*sdk.FileInfo, error) {
	sc, err := h.files(ctx)
	if err != nil {
		return nil, err
	}
	var fi fs.FileInfo
	if err := do(ctx, "stat", name, func() (err error) { fi, err = sc.Lstat(name); return err }); err != nil {
		return nil, err
	}
	return fileInfo(fi), nil
}

// ReadDir lists a directory, sorted by name.
func (h *host) ReadDir(ctx context.Context, name string) ([]*sdk.FileInfo, error) {
	sc, err := h.files(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := sc.ReadDirContext(ctx, name)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	infos := make([]*sdk.FileInfo, 0, len(entries))
	for _, e := range entries {
		infos = append(infos, fileInfo(e))
	}
	slices.SortFunc(infos, func(a, b *sdk.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

func fileInfo(fi fs.FileInfo) *sdk.FileInfo {
	uid, gid := ownerOf(fi)
	return &sdk.FileInfo{Name: fi.Name(), Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime(), UID: uid, GID: gid}
}

// MkdirAll creates name and its missing parents, each with exactly perm.
func (h *host) MkdirAll(ctx context.Context, name string, perm fs.FileMode) error {
	sc, err := h.files(ctx)
	if err != nil {
		return err
	}
	return do(ctx, "mkdir", name, func() error { return mkdirAll(sc, path.Clean(name), perm) })
}

func mkdirAll(sc *sftp.Client, dir string, perm fs.FileMode) error {
	fi, err := sc.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := path.Dir(dir); parent != dir {
		if err := mkdirAll(sc, parent, perm); err != nil {
			return err
		}
	}
	if err := sc.Mkdir(dir); err != nil {
		// Made meanwhile by someone else: as good.
		if fi, statErr := sc.Stat(dir); statErr == nil && fi.IsDir() {
			return nil
		}
		return err
	}
	return sc.Chmod(dir, perm)
}

// Remove removes a file or an empty directory.
func (h *host) Remove(ctx context.Context, name string) error {
	sc, err := h.files(ctx)
	if err != nil {
		return err
	}
	return do(ctx, "remove", name, func() error { return sc.Remove(name) })
}

// Rename renames oldpath to newpath, replacing newpath (posix-rename).
func (h *host) Rename(ctx context.Context, oldpath, newpath string) error {
	sc, err := h.files(ctx)
	if err != nil {
		return err
	}
	return do(ctx, "rename", oldpath, func() error { return sc.PosixRename(oldpath, newpath) })
}
