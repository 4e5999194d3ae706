package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk"
)

// create writes content to path through Target.Create and publishes it.
func create(t *testing.T, tgt sdk.Target, path, content string, opts *sdk.CreateOptions) {
	t.Helper()
	w, err := tgt.Create(t.Context(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Two writes: Create streams, it does not take the content whole.
	half := len(content) / 2
	if _, err := io.WriteString(w, content[:half]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, content[half:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, tgt sdk.Target, path string) string {
	t.Helper()
	r, err := tgt.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// tempFiles lists what Create left behind in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestCreateOpen(t *testing.T) {
	// The mode is exact whatever the umask.
	defer syscall.Umask(syscall.Umask(0o077))
	tests := map[string]struct {
		opts     *sdk.CreateOptions
		wantMode fs.FileMode
	}{
		"default mode": {wantMode: 0o644},
		"zero options": {opts: &sdk.CreateOptions{}, wantMode: 0o644},
		"group write":  {opts: &sdk.CreateOptions{Mode: 0o664}, wantMode: 0o664},
		"executable":   {opts: &sdk.CreateOptions{Mode: 0o755}, wantMode: 0o755},
		"setgid":       {opts: &sdk.CreateOptions{Mode: 0o750 | fs.ModeSetgid}, wantMode: 0o750 | fs.ModeSetgid},
		"unix setgid":  {opts: &sdk.CreateOptions{Mode: 0o2750}, wantMode: 0o750 | fs.ModeSetgid},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "conf")
			tgt := Target()
			for _, content := range []string{"first\n", "second, longer\n"} {
				create(t, tgt, path, content, tc.opts)
				if got := read(t, tgt, path); got != content {
					t.Errorf("content = %q, want %q", got, content)
				}
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.wantMode {
				t.Errorf("mode = %v, want %v", fi.Mode(), tc.wantMode)
			}
			if left := tempFiles(t, dir); len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

func TestCreateOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	tests := map[string]struct {
		owner, group     string
		wantUID, wantGID int
	}{
		"numeric":    {owner: "1234", group: "5678", wantUID: 1234, wantGID: 5678},
		"names":      {owner: "root", group: "root", wantUID: 0, wantGID: 0},
		"owner only": {owner: "4321", wantUID: 4321, wantGID: os.Getegid()},
		"group only": {group: "8765", wantUID: os.Geteuid(), wantGID: 8765},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "owned")
			create(t, Target(), path, "x", &sdk.CreateOptions{Mode: 0o4755, Owner: tc.owner, Group: tc.group})
			fi, err := Target().Stat(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.UID != tc.wantUID || fi.GID != tc.wantGID {
				t.Errorf("owner = %d:%d, want %d:%d", fi.UID, fi.GID, tc.wantUID, tc.wantGID)
			}
			// chown clears set-user-id: the mode is set after it.
			if fi.Mode != 0o755|fs.ModeSetuid {
				t.Errorf("mode = %v, want -rwsr-xr-x", fi.Mode)
			}
		})
	}
}

func TestCreateErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	tests := map[string]struct {
		ctx     context.Context
		path    string
		opts    *sdk.CreateOptions
		wantErr error // matched with errors.Is when not nil
	}{
		"missing dir":   {ctx: t.Context(), path: filepath.Join(dir, "no", "such", "file"), wantErr: fs.ErrNotExist},
		"cancelled":     {ctx: cancelled, path: filepath.Join(dir, "file"), wantErr: context.Canceled},
		"unknown owner": {ctx: t.Context(), path: filepath.Join(dir, "file"), opts: &sdk.CreateOptions{Owner: "no-such-user-zrun"}},
		"unknown group": {ctx: t.Context(), path: filepath.Join(dir, "file"), opts: &sdk.CreateOptions{Group: "no-such-group-zrun"}},
		"a directory":   {ctx: t.Context(), path: dir + "/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := Target().Create(tc.ctx, tc.path, tc.opts)
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if w != nil {
				t.Error("Create returned a writer with its error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want one matching %v", err, tc.wantErr)
			}
			if left := tempFiles(t, dir); len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

// TestCreateDiscards: whatever ends a Create without Close leaves the old
// file as it was and no temporary file.
func TestCreateDiscards(t *testing.T) {
	tests := map[string]func(t *testing.T, w sdk.FileWriter, cancel context.CancelFunc){
		"abort": func(t *testing.T, w sdk.FileWriter, _ context.CancelFunc) {
			if err := w.Abort(); err != nil {
				t.Errorf("Abort: %v", err)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("a second Abort: %v", err)
			}
			if err := w.Close(); err == nil {
				t.Error("Close after Abort succeeded")
			}
		},
		"ctx ends": func(t *testing.T, w sdk.FileWriter, cancel context.CancelFunc) {
			cancel()
			if err := w.Close(); !errors.Is(err, context.Canceled) {
				t.Errorf("Close after the end of ctx: err = %v, want context.Canceled", err)
			}
		},
		"ctx ends, nobody calls": func(t *testing.T, w sdk.FileWriter, cancel context.CancelFunc) {
			cancel()
			waitNoTemp(t, w)
			if _, err := w.Write([]byte("more")); !errors.Is(err, context.Canceled) {
				t.Errorf("Write after the end of ctx: err = %v, want context.Canceled", err)
			}
		},
	}
	for name, end := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "data")
			tgt := Target()
			create(t, tgt, path, "old", nil)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w, err := tgt.Create(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(w, "new, half written"); err != nil {
				t.Fatal(err)
			}
			end(t, w, cancel)
			if got := read(t, tgt, path); got != "old" {
				t.Errorf("content = %q, want the old one", got)
			}
			if left := tempFiles(t, dir); len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

// waitNoTemp waits for the end of ctx to discard w's temporary file: it
// happens in the background.
func waitNoTemp(t *testing.T, w sdk.FileWriter) {
	t.Helper()
	name := w.(*fileWriter).f.Name()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
	t.Fatalf("%s still there after the end of ctx", name)
}

func TestAbortAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	w, err := Target().Create(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, "kept")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if got := read(t, Target(), path); got != "kept" {
		t.Errorf("content = %q, want kept", got)
	}
}

func TestCreateIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	a := strings.Repeat("a", 256<<10)
	b := strings.Repeat("b", 256<<10)
	tgt := Target()
	create(t, tgt, path, a, nil)

	// A reader while a Create is in flight sees the old file.
	w, err := tgt.Create(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, b)
	if got := read(t, tgt, path); got != a {
		t.Errorf("read during Create: %d bytes, want the old content", len(got))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := os.ReadFile(path)
				if err != nil || !(string(got) == a || string(got) == b) {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("read %d bytes, err %v", len(got), err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range 30 {
		data := a
		if i%2 == 0 {
			data = b
		}
		create(t, tgt, path, data, nil)
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("readers saw partial content %d times, e.g. %s", len(bad), bad[0])
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Target().Open(t.Context(), filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: err = %v, want fs.ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r, err := Target().Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Errorf("read after the end of ctx: err = %v, want context.Canceled", err)
	}
}

// TestOpenFIFOCancel: a read blocked on a FIFO ends with ctx.
func TestOpenFIFOCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Hold the write end open so that reads block rather than end.
	w, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	r, err := Target().Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("blocked read after the end of ctx: err = %v, want context.Canceled", err)
	}
}

func TestStatReadDir(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	tgt := Target()
	create(t, tgt, filepath.Join(dir, "b"), "12345", &sdk.CreateOptions{Mode: 0o600})
	if err := tgt.MkdirAll(ctx, filepath.Join(dir, "a", "deep", "er"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b", filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	fi, err := tgt.Stat(ctx, filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Name != "b" || fi.Size != 5 || fi.Mode != 0o600 || fi.IsDir() || fi.UID != os.Geteuid() || fi.GID != os.Getegid() ||
		time.Since(fi.ModTime) > time.Minute {
		t.Errorf("Stat = %+v", fi)
	}
	if fi, err := tgt.Stat(ctx, filepath.Join(dir, "c")); err != nil || fi.Mode.Type() != fs.ModeSymlink {
		t.Errorf("Stat of a symbolic link = %+v, %v; want the link itself", fi, err)
	}
	if _, err := tgt.Stat(ctx, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing file: err = %v, want fs.ErrNotExist", err)
	}

	list, err := tgt.ReadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fi := range list {
		got = append(got, fmt.Sprintf("%s %v", fi.Name, fi.Mode.Type()))
	}
	want := []string{"a " + fs.ModeDir.String(), "b " + fs.FileMode(0).Type().String(), "c " + fs.ModeSymlink.String()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadDir (-want +got):\n%s", diff)
	}
	if _, err := tgt.ReadDir(ctx, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir of a missing directory: err = %v, want fs.ErrNotExist", err)
	}
}

func TestRemoveRenameMkdirAll(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	tgt := Target()
	sub := filepath.Join(dir, "x", "y")
	if err := tgt.MkdirAll(ctx, sub, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := tgt.MkdirAll(ctx, sub, 0o750); err != nil {
		t.Errorf("MkdirAll of an existing directory: %v", err)
	}
	create(t, tgt, filepath.Join(sub, "f"), "one", nil)
	create(t, tgt, filepath.Join(sub, "g"), "two", nil)
	if err := tgt.Rename(ctx, filepath.Join(sub, "f"), filepath.Join(sub, "g")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, tgt, filepath.Join(sub, "g")); got != "one" {
		t.Errorf("after Rename over it, g = %q, want one", got)
	}
	if err := tgt.Rename(ctx, filepath.Join(sub, "f"), filepath.Join(sub, "h")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rename of a missing file: err = %v, want fs.ErrNotExist", err)
	}
	if err := tgt.Remove(ctx, sub); err == nil {
		t.Error("Remove of a directory that is not empty succeeded")
	}
	if err := tgt.Remove(ctx, filepath.Join(sub, "g")); err != nil {
		t.Fatal(err)
	}
	if err := tgt.Remove(ctx, filepath.Join(sub, "g")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove of a missing file: err = %v, want fs.ErrNotExist", err)
	}
	if err := tgt.Remove(ctx, sub); err != nil {
		t.Errorf("Remove of an empty directory: %v", err)
	}
	if err := tgt.MkdirAll(ctx, filepath.Join(dir, "x"), 0o750); err != nil {
		t.Errorf("MkdirAll of an existing directory: %v", err)
	}
}

func TestExecSudoAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs as root only: sudo itself would be needed otherwise")
	}
	// Root runs the command directly: no sudo needed on the machine.
	var out strings.Builder
	res, err := Target().Exec(t.Context(), &sdk.Command{Args: []string{"id", "-u"}, Sudo: true, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || out.String() != "0\n" {
		t.Errorf("exit %d, stdout %q; want 0 and the id 0", res.ExitCode, out.String())
	}
}

// TestCreateNoSync: without the fsync, a file is still published whole,
// with its mode, and nothing is left beside it.
func TestCreateNoSync(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	w, err := Target().Create(t.Context(), path, &sdk.CreateOptions{Mode: 0o600, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("content")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "content" {
		t.Fatalf("published %q, %v", data, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left beside it: %v", entries)
	}
}
