package rpc_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/zrun-dev/zrun/sdk"
)

// sizesTarget is the host's disk, recording the largest write the host
// made into a file it created: a copy the host made itself writes large
// pieces, chunks from the plugin at most 32 KiB.
type sizesTarget struct {
	*hostDisk
	mu      sync.Mutex
	largest int
}

func (s *sizesTarget) Create(ctx context.Context, path string, opts *sdk.CreateOptions) (sdk.FileWriter, error) {
	w, err := s.hostDisk.Create(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return &sizesWriter{FileWriter: w, s: s}, nil
}

type sizesWriter struct {
	sdk.FileWriter
	s *sizesTarget
}

func (w *sizesWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	w.s.largest = max(w.s.largest, len(p))
	w.s.mu.Unlock()
	return w.FileWriter.Write(p)
}

// TestRemoteCreateFromLocalFile: a local file copied into a remote
// Create (io.Copy, or ReadFrom) is copied by the host itself from the
// plugin's offset, and the plugin's file reads on at its end; a path that
// no longer names the plugin's open file is refused and its bytes sent.
func TestRemoteCreateFromLocalFile(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16+7) // 1 MiB and a bit
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		replace  bool // the path names another file once the plugin opened it
		wantHost bool // the host copied the bytes itself
	}{
		"by the host":       {wantHost: true},
		"replaced, so sent": {replace: true},
	} {
		t.Run(name, func(t *testing.T) {
			host := &sizesTarget{hostDisk: newHostDisk()}
			dst := filepath.Join(dir, name+".out")
			onPlugin(t, host, func(ctx context.Context, tgt sdk.Target) {
				f, err := os.Open(src)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if tc.replace {
					moved := src + ".moved"
					if err := os.Rename(src, moved); err != nil {
						t.Fatal(err)
					}
					defer os.Rename(moved, src)
					if err := os.WriteFile(src, []byte("another file"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := f.Seek(100, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				w, err := tgt.Create(ctx, dst, nil)
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(w, f)
				if err != nil || n != int64(len(data)-100) {
					t.Fatalf("copied %d, %v; want %d", n, err, len(data)-100)
				}
				if off, _ := f.Seek(0, io.SeekCurrent); off != int64(len(data)) {
					t.Errorf("the plugin's file is at %d, want its end %d", off, len(data))
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			})
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, data[100:]) {
				t.Fatalf("the host wrote %d bytes (%v), want the file from offset 100", len(got), err)
			}
			if byHost := host.largest > 32<<10; byHost != tc.wantHost {
				t.Errorf("largest write %d: copied by the host = %v, want %v", host.largest, byHost, tc.wantHost)
			}
		})
	}
}
