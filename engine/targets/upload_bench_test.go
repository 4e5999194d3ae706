package targets_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestUploadVsScp uploads one 1 GiB file through Create and through scp
// to the same sshd and reports both times (bench/ssh-upload.sh runs it).
// It runs only when ZRUN_BENCH_UPLOAD=1: it is a measurement, not a check.
func TestUploadVsScp(t *testing.T) {
	if os.Getenv("ZRUN_BENCH_UPLOAD") != "1" {
		t.Skip("a benchmark: set ZRUN_BENCH_UPLOAD=1 (bench/ssh-upload.sh does)")
	}
	size := int64(1 << 30)
	tg, s := target(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, io.LimitReader(&pattern{}, size)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var zrun, scp time.Duration
	for range 3 {
		begin := time.Now()
		in, _ := os.Open(src)
		w, err := tg.Create(t.Context(), filepath.Join(dir, "by-zrun"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, in); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		in.Close()
		zrun = best(zrun, time.Since(begin))

		begin = time.Now()
		cmd := exec.Command("scp", "-q", "-i", s.KeyFile, "-o", "UserKnownHostsFile="+s.KnownHostsFile,
			"-o", "BatchMode=yes", "-P", strconv.Itoa(s.Port), src, fmt.Sprintf("%s@%s:%s", s.User, s.Addr, filepath.Join(dir, "by-scp")))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scp: %v\n%s", err, out)
		}
		scp = best(scp, time.Since(begin))
	}
	t.Logf("1 GiB upload, best of 3: zrun Create %s (%.0f MiB/s), scp %s (%.0f MiB/s): zrun/scp = %.2f",
		zrun, mibps(size, zrun), scp, mibps(size, scp), zrun.Seconds()/scp.Seconds())
}

// best is the shorter of two times, 0 meaning none yet.
func best(sofar, d time.Duration) time.Duration {
	if sofar == 0 {
		return d
	}
	return min(sofar, d)
}
