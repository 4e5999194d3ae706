package postgres

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/sdk/local"
)

// TestDumpThroughput compares postgres.dump (custom, uncompressed) into a
// discarding consumer with `pg_dump -Fc -Z0 > /dev/null`, on a pgbench
// database of H5_BENCH_SCALE (default: skipped; 10 is about 150 MB),
// and what the dump allocated (bounded: it streams). Run by hand:
//
//	H5_BENCH_SCALE=10 go test -run DumpThroughput -v ./plugins/postgres/
func TestDumpThroughput(t *testing.T) {
	scale := os.Getenv("H5_BENCH_SCALE")
	if scale == "" {
		t.Skip("set H5_BENCH_SCALE (pgbench scale, e.g. 10) to measure")
	}
	s := pgServer(t)
	db := s.newDatabase(t, "")
	init := exec.Command("pgbench", "-i", "-q", "-s", scale, "-h", s.host, "-p", strconv.Itoa(s.port), "-U", s.user, db)
	init.Env = append(os.Environ(), "PGPASSWORD="+s.password)
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	size := s.scalar(t, db, "SELECT pg_size_pretty(pg_database_size(current_database()))")

	start := time.Now()
	raw := exec.Command("pg_dump", "-Fc", "-Z0", "-h", s.host, "-p", strconv.Itoa(s.port), "-U", s.user, "-d", db)
	raw.Env = append(os.Environ(), "PGPASSWORD="+s.password)
	raw.Stdout = io.Discard
	if err := raw.Run(); err != nil {
		t.Fatal(err)
	}
	alone := time.Since(start)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start = time.Now()
	res := (&step{target: local.Target(), out: io.Discard}).run(t, "dump", s.args(map[string]any{"database": db})).ok(t)
	through := time.Since(start)
	runtime.ReadMemStats(&after)
	t.Logf("database %s: pg_dump alone %s; postgres.dump %s (%.2fx), %d bytes (%.0f MB/s); allocated %d KiB in all",
		size, alone.Round(time.Millisecond), through.Round(time.Millisecond), through.Seconds()/alone.Seconds(),
		res.num("bytes"), float64(res.num("bytes"))/through.Seconds()/1e6, (after.TotalAlloc-before.TotalAlloc)>>10)
}
