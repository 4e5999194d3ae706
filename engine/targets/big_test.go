package targets_test

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestTwoGiBStreamsInBoundedHeap writes 2 GiB through Create and reads it
// back through Open; the test process's heap stays under 64 MiB.
func TestTwoGiBStreamsInBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 2 GiB: not under -short")
	}
	size := int64(2 << 30)
	if raceEnabled {
		// The bound on memory is checked at full size in the run without
		// the race detector; this one checks the code for races.
		size = 64 << 20
	}
	tg, _ := target(t)
	name := filepath.Join(t.TempDir(), "big")
	peak := watchHeap(t)

	w, err := tg.Create(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := sha256.New()
	begin := time.Now()
	if _, err := io.Copy(w, io.TeeReader(io.LimitReader(&pattern{}, size), src)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Create: %d MiB in %s (%.0f MiB/s)", size>>20, time.Since(begin), mibps(size, time.Since(begin)))
	if fi, err := os.Stat(name); err != nil || fi.Size() != size {
		t.Fatalf("wrote %v, %v", fi, err)
	}

	begin = time.Now()
	r, err := tg.Open(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	dst := sha256.New()
	// A plain reader (no WriterTo), as a gRPC stream would read it.
	n, err := io.CopyBuffer(onlyWriter{dst}, onlyReader{r}, make([]byte, 32<<10))
	r.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	t.Logf("Open: %d MiB in %s (%.0f MiB/s)", size>>20, time.Since(begin), mibps(size, time.Since(begin)))
	if string(src.Sum(nil)) != string(dst.Sum(nil)) {
		t.Error("the bytes read back differ from those written")
	}
	if p := peak(); p > 64<<20 {
		t.Errorf("peak heap %d MiB, want under 64 MiB", p>>20)
	} else {
		t.Logf("peak heap %d MiB", p>>20)
	}
}

// pattern is an endless, cheap, non-repeating-per-block byte source.
type pattern struct{ n uint64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.n>>8) ^ byte(p.n)
		p.n++
	}
	return len(b), nil
}

type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

func mibps(n int64, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }

// watchHeap samples the heap until the test ends; the function it returns
// gives the peak seen so far.
func watchHeap(t *testing.T) func() uint64 {
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
