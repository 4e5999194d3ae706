package archive

import (
	"bytes"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// BenchmarkPackVsGzip packs the same 256 MiB of mixed content with
// archive.pack (zstd, default level, every core; gzip level 6 through
// pgzip, every core) and with the system's gzip -6 and zstd -3 -T0, side
// by side in each round, then unpacks what pack wrote beside gzip -d.
// Run: go test -run '^$' -bench PackVsGzip -benchtime 3x ./plugins/archive/
func BenchmarkPackVsGzip(b *testing.B) {
	// The benchmark holds its input and outputs (half a GiB): the
	// plugin's soft memory limit, meant for its own process, would have
	// the collector run without end.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	data := mixedBytes(b, 13, 256<<20)
	gzipPath := tool(b, "gzip", "apt-get install -y gzip")
	zstdPath, _ := exec.LookPath("zstd")
	type contender struct {
		name string
		run  func(b *testing.B, out io.Writer)
		took time.Duration
		size int64
	}
	pack := func(args map[string]cty.Value) func(b *testing.B, out io.Writer) {
		return func(b *testing.B, out io.Writer) {
			if _, err := runStreaming(b, "pack", args, bytes.NewReader(data), out); err != nil {
				b.Fatal(err)
			}
		}
	}
	system := func(path string, args ...string) func(b *testing.B, out io.Writer) {
		return func(b *testing.B, out io.Writer) {
			cmd := exec.CommandContext(b.Context(), path, args...)
			cmd.Stdin, cmd.Stdout = bytes.NewReader(data), out
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	}
	contenders := []*contender{
		{name: "pack-zstd", run: pack(map[string]cty.Value{})},
		{name: "gzip-6", run: system(gzipPath, "-6", "-c")},
		{name: "pack-gzip", run: pack(map[string]cty.Value{"compression": cty.StringVal("gzip")})},
	}
	if zstdPath != "" {
		contenders = append(contenders, &contender{name: "zstd-3-T0", run: system(zstdPath, "-3", "-T0", "-c")})
	}
	var packedZstd, packedGzip bytes.Buffer
	var unpackTook, gunzipTook time.Duration
	for b.Loop() {
		for _, c := range contenders {
			out := &counter{}
			var w io.Writer = out
			switch c.name {
			case "pack-zstd":
				packedZstd.Reset()
				w = io.MultiWriter(out, &packedZstd)
			case "gzip-6":
				packedGzip.Reset()
				w = io.MultiWriter(out, &packedGzip)
			}
			start := time.Now()
			c.run(b, w)
			c.took += time.Since(start)
			c.size = out.n
		}
		start := time.Now()
		if _, err := runStreaming(b, "unpack", map[string]cty.Value{}, bytes.NewReader(packedZstd.Bytes()), io.Discard); err != nil {
			b.Fatal(err)
		}
		unpackTook += time.Since(start)
		start = time.Now()
		cmd := exec.CommandContext(b.Context(), gzipPath, "-d", "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(packedGzip.Bytes()), io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		gunzipTook += time.Since(start)
	}
	rounds := float64(b.N)
	mbps := func(d time.Duration) float64 { return float64(len(data)) / (1 << 20) / (d.Seconds() / rounds) }
	var zstdTook, gzipTook time.Duration
	for _, c := range contenders {
		b.ReportMetric(mbps(c.took), c.name+"-MiB/s")
		b.ReportMetric(float64(c.size)/float64(len(data)), c.name+"-ratio")
		b.Logf("%-10s %6.1f MiB/s  %5.2f s  %10d bytes (%.3f of %d)", c.name, mbps(c.took), c.took.Seconds()/rounds, c.size, float64(c.size)/float64(len(data)), len(data))
		switch c.name {
		case "pack-zstd":
			zstdTook = c.took
		case "gzip-6":
			gzipTook = c.took
		}
	}
	b.ReportMetric(zstdTook.Seconds()/gzipTook.Seconds(), "zstd/gzip-time")
	b.ReportMetric(mbps(unpackTook), "unpack-zstd-MiB/s")
	b.ReportMetric(mbps(gunzipTook), "gzip-d-MiB/s")
	b.Logf("pack-zstd took %.2fx gzip -6's time; unpack (zstd) %.1f MiB/s, gzip -d %.1f MiB/s of raw output; %d cores",
		zstdTook.Seconds()/gzipTook.Seconds(), mbps(unpackTook), mbps(gunzipTook), runtime.NumCPU())
}
