package pgstore

import (
	"testing"

	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/statetest"
)

// BenchmarkLedger writes a 1,000-step run to a fresh schema of the server
// ZRUN_TEST_POSTGRES names, beside the same loop with no store.
func BenchmarkLedger(b *testing.B) {
	statetest.Benchmark(b, func(b *testing.B) state.Store {
		s, err := Open(b.Context(), freshSchema(b, testDSN(b)))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
