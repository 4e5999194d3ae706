package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/schema"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// hostDisk is the host's local target, served over the broker like a
// remote host's: a local target itself would not be (the plugin would use
// its own).
type hostDisk struct{ sdk.Target }

func newHostDisk() *hostDisk { return &hostDisk{Target: local.Target()} }

func (h *hostDisk) Name() string { return "disk" }

// onPlugin runs fn in the plugin's side of a gRPC connection, with the
// plugin's view of target. fn reports with t.Error, never t.Fatal (it runs
// on another goroutine).
func onPlugin(t *testing.T, target sdk.Target, fn func(ctx context.Context, tgt sdk.Target)) {
	t.Helper()
	res := sdktest.Run(t, testPlugin(fnAction(fn)), "fn", nil, sdktest.OverGRPC(), sdktest.WithTarget(target))
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics.Err())
	}
}

func fnAction(fn func(ctx context.Context, tgt sdk.Target)) sdk.Action {
	return &action{
		schema: &schema.Action{Name: "fn"},
		run: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			fn(ctx, req.Target)
			return nil, nil
		},
	}
}

func writeFile(ctx context.Context, tgt sdk.Target, path, content string, opts *sdk.CreateOptions) error {
	w, err := tgt.Create(ctx, path, opts)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, content); err != nil {
		return err
	}
	return w.Close()
}

func readFile(ctx context.Context, tgt sdk.Target, path string) (string, error) {
	r, err := tgt.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	return string(data), err
}

func tempLeft(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

// waitNoTemp waits for the host to discard the temporary files of dir:
// after a cancellation the host learns of it in the background.
func waitNoTemp(t *testing.T, dir string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if len(tempLeft(t, dir)) == 0 {
			return
		}
	}
	t.Errorf("temp files left behind: %v", tempLeft(t, dir))
}

func TestRemoteFiles(t *testing.T) {
	dir := t.TempDir()
	onPlugin(t, newHostDisk(), func(ctx context.Context, tgt sdk.Target) {
		path := filepath.Join(dir, "sub", "conf")
		if err := tgt.MkdirAll(ctx, filepath.Dir(path), 0o755); err != nil {
			t.Errorf("MkdirAll: %v", err)
			return
		}
		big := strings.Repeat("0123456789abcdef", 40<<10) // 640 KiB: many chunks
		for _, content := range []string{"first", big} {
			if err := writeFile(ctx, tgt, path, content, &sdk.CreateOptions{Mode: 0o640}); err != nil {
				t.Errorf("Create: %v", err)
			}
			if got, err := readFile(ctx, tgt, path); err != nil || got != content {
				t.Errorf("read back %d bytes, %v; want %d", len(got), err, len(content))
			}
		}
		fi, err := tgt.Stat(ctx, path)
		if err != nil {
			t.Errorf("Stat: %v", err)
		} else if fi.Name != "conf" || fi.Size != int64(len(big)) || fi.Mode != 0o640 || fi.UID != os.Geteuid() || time.Since(fi.ModTime) > time.Minute {
			t.Errorf("Stat = %+v", fi)
		}
		if err := tgt.Rename(ctx, path, filepath.Join(dir, "sub", "moved")); err != nil {
			t.Errorf("Rename: %v", err)
		}
		if err := writeFile(ctx, tgt, filepath.Join(dir, "sub", "a"), "a", nil); err != nil {
			t.Errorf("Create: %v", err)
		}
		list, err := tgt.ReadDir(ctx, filepath.Join(dir, "sub"))
		var names []string
		for _, fi := range list {
			names = append(names, fmt.Sprintf("%s:%v", fi.Name, fi.Mode))
		}
		if got := strings.Join(names, " "); err != nil || got != "a:-rw-r--r-- moved:-rw-r-----" {
			t.Errorf("ReadDir = %s, %v", got, err)
		}
		if err := tgt.Remove(ctx, filepath.Join(dir, "sub", "a")); err != nil {
			t.Errorf("Remove: %v", err)
		}
		if left := tempLeft(t, filepath.Join(dir, "sub")); len(left) > 0 {
			t.Errorf("temp files left behind: %v", left)
		}
	})
}

// TestRemoteErrorClasses: the fs errors callers test for keep their class
// across the wire.
func TestRemoteErrorClasses(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"full/x", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := &deniedTarget{hostDisk: newHostDisk(), denied: filepath.Join(dir, "secret")}
	missing := filepath.Join(dir, "missing")
	onPlugin(t, target, func(ctx context.Context, tgt sdk.Target) {
		tests := map[string]struct {
			err  error
			want error
		}{
			"open missing":      {err: second(tgt.Open(ctx, missing)), want: fs.ErrNotExist},
			"stat missing":      {err: second(tgt.Stat(ctx, missing)), want: fs.ErrNotExist},
			"readdir missing":   {err: second(tgt.ReadDir(ctx, missing)), want: fs.ErrNotExist},
			"remove missing":    {err: tgt.Remove(ctx, missing), want: fs.ErrNotExist},
			"rename missing":    {err: tgt.Rename(ctx, missing, filepath.Join(dir, "x")), want: fs.ErrNotExist},
			"create in missing": {err: second(tgt.Create(ctx, filepath.Join(missing, "f"), nil)), want: fs.ErrNotExist},
			"remove not empty":  {err: tgt.Remove(ctx, filepath.Join(dir, "full")), want: fs.ErrExist},
			"rename over full":  {err: tgt.Rename(ctx, filepath.Join(dir, "other"), filepath.Join(dir, "full")), want: fs.ErrExist},
			"open denied":       {err: second(tgt.Open(ctx, target.denied)), want: fs.ErrPermission},
			"create denied":     {err: second(tgt.Create(ctx, target.denied, nil)), want: fs.ErrPermission},
		}
		for name, tc := range tests {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: err = %v, want one matching %v", name, tc.err, tc.want)
			}
		}
		// The message is the host's, naming the path.
		if err := tgt.Remove(ctx, missing); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("Remove's error %q does not name the path", err)
		}
	})
}

func second[T any](_ T, err error) error { return err }

// deniedTarget refuses one path, as a host refuses a user without the
// rights: root is never refused on the test machine.
type deniedTarget struct {
	*hostDisk
	denied string
}

func (d *deniedTarget) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if path == d.denied {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
	}
	return d.hostDisk.Open(ctx, path)
}

func (d *deniedTarget) Create(ctx context.Context, path string, opts *sdk.CreateOptions) (sdk.FileWriter, error) {
	if path == d.denied {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
	}
	return d.hostDisk.Create(ctx, path, opts)
}

// TestRemoteCreateDiscards: over the wire too, a Create that ends without
// Close leaves the old file and no temporary file; a reader meanwhile sees
// the old content.
func TestRemoteCreateDiscards(t *testing.T) {
	tests := map[string]func(t *testing.T, w sdk.FileWriter, cancel context.CancelFunc, dir string){
		"abort": func(t *testing.T, w sdk.FileWriter, _ context.CancelFunc, dir string) {
			if err := w.Abort(); err != nil {
				t.Errorf("Abort: %v", err)
			}
			// Abort waits for the host: the file is gone already.
			if left := tempLeft(t, dir); len(left) > 0 {
				t.Errorf("after Abort, temp files left: %v", left)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("a second Abort: %v", err)
			}
			if _, err := w.Write([]byte("more")); err == nil {
				t.Error("Write after Abort succeeded")
			}
			if err := w.Close(); err == nil {
				t.Error("Close after Abort succeeded")
			}
		},
		"ctx ends": func(t *testing.T, w sdk.FileWriter, cancel context.CancelFunc, dir string) {
			cancel()
			if err := w.Close(); err == nil {
				t.Error("Close after the end of ctx succeeded")
			}
			waitNoTemp(t, dir)
		},
		"ctx ends, nobody calls": func(t *testing.T, _ sdk.FileWriter, cancel context.CancelFunc, dir string) {
			cancel()
			waitNoTemp(t, dir)
		},
	}
	for name, end := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "data")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			onPlugin(t, newHostDisk(), func(ctx context.Context, tgt sdk.Target) {
				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				w, err := tgt.Create(cctx, path, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := w.Write(bytes.Repeat([]byte("n"), 100<<10)); err != nil {
					t.Error(err)
				}
				if got, err := readFile(ctx, tgt, path); got != "old" || err != nil {
					t.Errorf("read during Create = %d bytes, %v; want the old content", len(got), err)
				}
				end(t, w, cancel, dir)
			})
			if data, _ := os.ReadFile(path); string(data) != "old" {
				t.Errorf("content = %d bytes, want the old content", len(data))
			}
		})
	}
}

// TestRemoteAbortAfterClose: Abort after Close changes nothing.
func TestRemoteAbortAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	onPlugin(t, newHostDisk(), func(ctx context.Context, tgt sdk.Target) {
		w, err := tgt.Create(ctx, path, nil)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.WriteString(w, "kept")
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("Abort after Close: %v", err)
		}
	})
	if data, _ := os.ReadFile(path); string(data) != "kept" {
		t.Errorf("content = %q, want kept", data)
	}
}

// TestRemoteOpenCancel: the end of ctx ends the reads of an open file.
func TestRemoteOpenCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	onPlugin(t, newHostDisk(), func(ctx context.Context, tgt sdk.Target) {
		cctx, cancel := context.WithCancel(ctx)
		r, err := tgt.Open(cctx, path)
		if err != nil {
			t.Error(err)
			cancel()
			return
		}
		defer r.Close()
		if _, err := r.Read(make([]byte, 10)); err != nil {
			t.Error(err)
		}
		cancel()
		if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
			t.Errorf("reads after the end of ctx: err = %v, want context.Canceled", err)
		}
	})
}

// streamTarget makes and swallows files of any size without storing
// them: Open serves size generated bytes, Create counts what it gets.
type streamTarget struct {
	*sdktest.Target
	size    int64
	written atomic.Int64
}

func (s *streamTarget) Open(context.Context, string) (io.ReadCloser, error) {
	return io.NopCloser(io.LimitReader(pattern{}, s.size)), nil
}

func (s *streamTarget) Create(context.Context, string, *sdk.CreateOptions) (sdk.FileWriter, error) {
	return &countWriter{n: &s.written}, nil
}

// pattern reads as an endless run of one block, copied (a loop over the
// bytes would cost more than the wire under the race detector).
type pattern struct{}

var block = bytes.Repeat([]byte("0123456789abcdef"), 4<<10)

func (pattern) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], block)
	}
	return n, nil
}

type countWriter struct{ n *atomic.Int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }
func (c *countWriter) Close() error                { return nil }
func (c *countWriter) Abort() error                { return nil }

// TestRemoteFileMemoryBounded moves 2 GiB each way through a remote
// target; both sides (host and plugin) live in this process, whose heap
// stays small.
func TestRemoteFileMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 4 GiB")
	}
	const limit = 64 << 20
	size := int64(2 << 30)
	if raceEnabled {
		// The race detector's pace would take minutes: the bound is
		// checked without it; this run looks for races on the way.
		size = 32 << 20
	}
	target := &streamTarget{Target: &sdktest.Target{TargetName: "big"}, size: size}
	runtime.GC()
	peak := sampleHeap(t)
	start := time.Now()
	onPlugin(t, target, func(ctx context.Context, tgt sdk.Target) {
		w, err := tgt.Create(ctx, "/big", nil)
		if err != nil {
			t.Error(err)
			return
		}
		if n, err := io.Copy(w, io.LimitReader(pattern{}, size)); err != nil || n != size {
			t.Errorf("wrote %d bytes, %v", n, err)
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		r, err := tgt.Open(ctx, "/big")
		if err != nil {
			t.Error(err)
			return
		}
		defer r.Close()
		if n, err := io.Copy(io.Discard, r); err != nil || n != size {
			t.Errorf("read %d bytes, %v", n, err)
		}
	})
	if got := target.written.Load(); got != size {
		t.Errorf("the host got %d bytes, want %d", got, size)
	}
	p := peak()
	t.Logf("%d MiB each way in %v, peak heap %d MiB", size>>20, time.Since(start).Round(time.Millisecond), p>>20)
	if p > limit {
		t.Errorf("peak heap %d MiB, want under %d MiB", p>>20, limit>>20)
	}
}

// sampleHeap samples the heap's live objects' bytes every few
// milliseconds until the returned function is called, which gives the
// peak. runtime/metrics does not stop the world, unlike ReadMemStats.
func sampleHeap(t *testing.T) (peak func() uint64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var max atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > max.Load() {
				max.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(stop)
		wg.Wait()
		return max.Load()
	}
}
