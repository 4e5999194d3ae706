package archive

import "testing"

// The window shrinks as workers are added, so that their buffers fit the
// budget up to the most workers pack takes.
func TestZstdWindowFitsTheBudget(t *testing.T) {
	for n := 1; n <= maxConcurrency; n++ {
		w := zstdWindowFor(n)
		if m := zstdMemory(n, w); m > zstdBudget {
			t.Errorf("%d workers, window %d KiB: %d MiB, over the budget", n, w>>10, m>>20)
		}
		if n == 1 || n == 2 || n == 4 || n == 8 || n == 16 || n == 32 {
			t.Logf("%2d workers: window %4d KiB, bound %3d MiB", n, w>>10, zstdMemory(n, w)>>20)
		}
	}
}
