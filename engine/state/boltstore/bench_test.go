package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/statetest"
)

// BenchmarkLedger writes a 1,000-step run (a start and an end record per
// step, two log lines each) to a fresh ledger file, beside the same loop
// with no store.
func BenchmarkLedger(b *testing.B) {
	statetest.Benchmark(b, func(b *testing.B) state.Store {
		s, err := Open(filepath.Join(b.TempDir(), "ledger.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
