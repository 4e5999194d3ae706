package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/statetest"
)

func openTemp(t *testing.T) state.Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), ".zrun", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	statetest.Run(t, openTemp, statetest.Reopen(func(t *testing.T, s state.Store) state.Store {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(s.(*Store).Path())
		if err != nil {
			t.Fatal(err)
		}
		return s2
	}))
}
