//go:build !unix

package boltstore

import (
	"context"
	"os"
	"time"
)

// lockFile does nothing where there is no flock: a salvage there must not
// run while another zrun uses the ledger.
func lockFile(context.Context, *os.File, bool, time.Duration) error { return nil }
