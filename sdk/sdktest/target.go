package sdktest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/zrun-dev/zrun/sdk"
)

// Target is an in-memory sdk.Target: files live in a map, commands are Go
// functions, and Dial reaches the real network unless DialFunc says
// otherwise. Set the fields before the action runs; read them through the
// methods, which are safe while it runs.
type Target struct {
	// TargetName is what Name returns; "" means "local".
	TargetName string
	// Files holds the files by path.
	Files map[string][]byte
	// Commands are run by Exec, looked up by Args[0]. A command writes to
	// cmd.Stdout/cmd.Stderr (which may be nil), reads cmd.Stdin, and
	// returns its exit code.
	Commands map[string]func(ctx context.Context, cmd *sdk.Command) (int, error)
	// DialFunc, when set, replaces net.Dialer.
	DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

	mu    sync.Mutex
	execs [][]string
	modes map[string]fs.FileMode // of the files Create wrote
	dirs  map[string]bool        // made by MkdirAll
}

func (t *Target) Name() string {
	if t.TargetName == "" {
		return "local"
	}
	return t.TargetName
}

// Exec runs the Go function registered for cmd.Args[0].
func (t *Target) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	t.mu.Lock()
	t.execs = append(t.execs, append([]string(nil), cmd.Args...))
	var fn func(context.Context, *sdk.Command) (int, error)
	if len(cmd.Args) > 0 {
		fn = t.Commands[cmd.Args[0]]
	}
	t.mu.Unlock()
	if fn == nil {
		return nil, fmt.Errorf("sdktest.Target: no command registered for %q", cmd.Args)
	}
	code, err := fn(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &sdk.ExecResult{ExitCode: code}, nil
}

// Execs returns the argument lists of every Exec call so far.
func (t *Target) Execs() [][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([][]string(nil), t.execs...)
}

// Open reads a file of Files.
func (t *Target) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	data, ok := t.Files[clean(name)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	// Create replaces a file's slice, never changes it: no copy needed.
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Create buffers the file and puts it in Files on Close, as one change.
func (t *Target) Create(ctx context.Context, name string, opts *sdk.CreateOptions) (sdk.FileWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mode := fs.FileMode(0o644)
	if opts != nil && opts.Mode != 0 {
		mode = opts.Mode
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.dirs[clean(name)]; ok {
		return nil, &fs.PathError{Op: "create", Path: name, Err: syscall.EISDIR}
	}
	return &memWriter{t: t, ctx: ctx, path: clean(name), mode: mode}, nil
}

// memWriter is a file being written to a Target.
type memWriter struct {
	t    *Target
	ctx  context.Context
	path string
	mode fs.FileMode

	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, fs.ErrClosed
	}
	if err := w.ctx.Err(); err != nil {
		w.done = true
		return 0, err
	}
	return w.buf.Write(p)
}

func (w *memWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fs.ErrClosed
	}
	w.done = true
	if err := w.ctx.Err(); err != nil {
		return err
	}
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	if w.t.Files == nil {
		w.t.Files = map[string][]byte{}
	}
	if w.t.modes == nil {
		w.t.modes = map[string]fs.FileMode{}
	}
	w.t.Files[w.path] = bytes.Clone(w.buf.Bytes())
	w.t.modes[w.path] = w.mode
	return nil
}

func (w *memWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	return nil
}

// Stat describes a file of Files or a directory: one made by MkdirAll or
// holding a file.
func (t *Target) Stat(ctx context.Context, name string) (*sdk.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fi := t.statLocked(clean(name))
	if fi == nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return fi, nil
}

func (t *Target) statLocked(p string) *sdk.FileInfo {
	if data, ok := t.Files[p]; ok {
		mode, ok := t.modes[p]
		if !ok {
			mode = 0o644
		}
		return &sdk.FileInfo{Name: path.Base(p), Size: int64(len(data)), Mode: mode, UID: -1, GID: -1}
	}
	if t.isDirLocked(p) {
		return &sdk.FileInfo{Name: path.Base(p), Mode: fs.ModeDir | 0o755, UID: -1, GID: -1}
	}
	return nil
}

func (t *Target) isDirLocked(p string) bool {
	if _, ok := t.dirs[p]; ok || p == "/" || p == "." {
		return true
	}
	return len(t.childrenLocked(p)) > 0
}

// childrenLocked returns the names of the entries of directory p.
func (t *Target) childrenLocked(p string) []string {
	prefix := strings.TrimSuffix(p, "/") + "/"
	if p == "." {
		prefix = ""
	}
	seen := map[string]bool{}
	add := func(full string) {
		if rest, ok := strings.CutPrefix(full, prefix); ok && rest != "" && full != p {
			first, _, _ := strings.Cut(rest, "/")
			seen[first] = true
		}
	}
	for f := range t.Files {
		add(f)
	}
	for d := range t.dirs {
		add(d)
	}
	return slices.Sorted(maps.Keys(seen))
}

// ReadDir lists a directory, sorted by name.
func (t *Target) ReadDir(ctx context.Context, name string) ([]*sdk.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := clean(name)
	if !t.isDirLocked(p) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []*sdk.FileInfo
	for _, child := range t.childrenLocked(p) {
		out = append(out, t.statLocked(path.Join(p, child)))
	}
	return out, nil
}

// MkdirAll records a directory and its parents.
func (t *Target) MkdirAll(ctx context.Context, name string, _ fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dirs == nil {
		t.dirs = map[string]bool{}
	}
	for p := clean(name); p != "/" && p != "."; p = path.Dir(p) {
		if _, ok := t.Files[p]; ok {
			return &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR}
		}
		t.dirs[p] = true
	}
	return nil
}

// Remove removes a file or an empty directory.
func (t *Target) Remove(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := clean(name)
	if _, ok := t.Files[p]; ok {
		delete(t.Files, p)
		delete(t.modes, p)
		return nil
	}
	if !t.isDirLocked(p) {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if len(t.childrenLocked(p)) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
	}
	delete(t.dirs, p)
	return nil
}

// Rename renames a file, replacing newpath.
func (t *Target) Rename(ctx context.Context, oldpath, newpath string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	from, to := clean(oldpath), clean(newpath)
	data, ok := t.Files[from]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	t.Files[to] = data
	if mode, ok := t.modes[from]; ok {
		t.modes[to] = mode
	}
	delete(t.Files, from)
	delete(t.modes, from)
	return nil
}

func clean(p string) string { return path.Clean(p) }

// File returns a file's content and whether it exists.
func (t *Target) File(path string) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data, ok := t.Files[clean(path)]
	return data, ok
}

func (t *Target) Dial(ctx context.Context, network, address string) (sdk.Conn, error) {
	var c net.Conn
	var err error
	if t.DialFunc != nil {
		c, err = t.DialFunc(ctx, network, address)
	} else {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
	}
	if err != nil {
		return nil, err
	}
	conn, ok := c.(sdk.Conn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("sdktest.Target: the connection to %s cannot half-close", address)
	}
	return conn, nil
}

// Interface guards
var (
	_ sdk.Target     = (*Target)(nil)
	_ sdk.FileWriter = (*memWriter)(nil)
)
