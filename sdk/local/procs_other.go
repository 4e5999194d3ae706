//go:build !linux

package local

import "time"

// BecomeSubreaper does nothing outside Linux: orphans go to init.
func BecomeSubreaper() error { return nil }

// KillOrphans does nothing outside Linux, where orphans never come to zrun.
func KillOrphans(time.Duration) {}

// KillDescendants does nothing outside Linux; commands' process groups
// are still killed when their step ends.
func KillDescendants(time.Duration) {}

func sweepSoon() {}

func reapGroup(int) {}
