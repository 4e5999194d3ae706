package archive

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// streamUI is a UI whose streams are the test's readers and writers, for
// streams too large to record.
type streamUI struct {
	*sdktest.UI
	in  io.Reader
	out io.Writer
}

func (u *streamUI) InputStream(string) (io.ReadCloser, error) {
	if rc, ok := u.in.(io.ReadCloser); ok {
		return rc, nil
	}
	return io.NopCloser(u.in), nil
}

func (u *streamUI) OutputStream(string) (io.WriteCloser, error) {
	if u.out == nil {
		return nil, nil
	}
	return nopWriteCloser{u.out}, nil
}

// runStreaming runs action in process with in as its from and out as its
// stream (nil: no consumer).
func runStreaming(t testing.TB, action string, args map[string]cty.Value, in io.Reader, out io.Writer) (cty.Value, error) {
	t.Helper()
	return runStreamingUI(t.Context(), t, action, args, &streamUI{UI: sdktest.NewUI(nil, sdk.RunInfo{Step: "step." + action}), in: in, out: out})
}

func runStreamingUI(ctx context.Context, t testing.TB, action string, args map[string]cty.Value, ui *streamUI) (cty.Value, error) {
	t.Helper()
	args["from"] = cty.StringVal("step.x.stream")
	resp, err := sdk.InProcess(Plugin()).RunAction(ctx, action, &sdk.RunRequest{Args: sdktest.Args(t, Plugin(), action, args), UI: ui})
	if err != nil {
		return cty.NilVal, err
	}
	if resp.Diagnostics.HasErrors() {
		return cty.NilVal, resp.Diagnostics.Err()
	}
	return resp.Outputs, nil
}

// counter counts what it is written.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// memorySlack is what the bounds allow beyond the compressors' buffers:
// the copy buffers (1 MiB each side), unpack's holdback (2 MiB), its
// bufio readers, age's chunks (64 KiB), the test's own generator, and
// the garbage the collector has not freed yet when the heap is sampled.
const memorySlack = 24 << 20

// Packing 1 GiB (256 MiB for the bounds that do not grow with it), made as it is read, holds no more than the compressor's
// stated bound; so does packing and unpacking it at once, with age, in
// one process (unpack adds zstd's window and its readahead).
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("packs 1 GiB")
	}
	n := runtime.NumCPU()
	k := newKeys(t)
	tests := map[string]struct {
		args   map[string]cty.Value
		unpack map[string]cty.Value // nil: pack only
		bound  int64
		size   int64 // 1 GiB unless set
	}{
		"zstd":            {args: map[string]cty.Value{}, bound: zstdMemory(n, zstdWindowFor(n)) + memorySlack},
		"zstd, 8 workers": {args: map[string]cty.Value{"concurrency": cty.NumberIntVal(8)}, bound: zstdMemory(8, zstdWindowFor(8)) + memorySlack, size: 256 << 20},
		"gzip":            {args: map[string]cty.Value{"compression": cty.StringVal("gzip")}, bound: gzipMemory(n) + memorySlack, size: 256 << 20},
		"zstd|age|unpack": {args: map[string]cty.Value{"recipients": strs(k.public)}, unpack: map[string]cty.Value{"identity": cty.StringVal(k.secret)},
			bound: min(zstdMemory(n, zstdWindowFor(n))+unpackMemory+memorySlack, softMemoryLimit+memorySlack)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			size := int64(1 << 30)
			if tc.size != 0 {
				size = tc.size
			}
			if raceEnabled {
				// The bounds are checked at full size in the run without
				// the race detector (make test); this one checks for races.
				size = 16 << 20
			}
			heap := startHeapSampler()
			var out cty.Value
			var err error
			raw := &counter{}
			if tc.unpack == nil {
				out, err = runStreaming(t, "pack", tc.args, newMixed(9, size), &counter{})
			} else {
				pr, pw := io.Pipe()
				packed := make(chan error, 1)
				go func() {
					_, err := runStreaming(t, "pack", tc.args, newMixed(9, size), pw)
					pw.CloseWithError(err) // nil: io.EOF
					packed <- err
				}()
				out, err = runStreaming(t, "unpack", tc.unpack, pr, raw)
				pr.CloseWithError(errors.New("unpack ended"))
				err = errors.Join(err, <-packed)
			}
			peak := heap.peak()
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := out.GetAttr("raw_bytes").AsBigFloat().Int64(); got != size {
				t.Fatalf("raw_bytes = %d, want %d", got, size)
			}
			if tc.unpack != nil && raw.n != size {
				t.Fatalf("unpack gave %d bytes, want %d", raw.n, size)
			}
			t.Logf("%s, %d cores: peak heap %.1f MiB (bound %.1f MiB)", name, n, mib(peak), mib(uint64(tc.bound)))
			if int64(peak) > tc.bound {
				t.Errorf("peak heap %.1f MiB, over the bound %.1f MiB", mib(peak), mib(uint64(tc.bound)))
			}
		})
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
