package rclone

import (
	"io"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// BenchmarkUploadLocal streams 256 MiB to a local-folder remote and
// reports throughput and the process's peak RSS (which stays flat
// whatever the stream's size: nothing is buffered whole).
func BenchmarkUploadLocal(b *testing.B) {
	const size = 256 << 20
	dir := b.TempDir()
	remote := obj("type", "local")
	b.SetBytes(size)
	for b.Loop() {
		res := sdktest.Run(b, Plugin(), "upload", args(remote, "from", "pipe:1", "path", filepath.Join(dir, "x.dump")),
			sdktest.WithInput("from", io.LimitReader(pattern{}, size)))
		if err := res.Diagnostics.Err(); err != nil {
			b.Fatal(err)
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}

// pattern is an endless stream of bytes that do not compress to nothing.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return len(p), nil
}
