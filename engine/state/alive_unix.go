//go:build unix

package state

import (
	"errors"
	"syscall"
)

// pidAlive reports whether pid names a process on this host. EPERM means
// it exists but belongs to another user.
func pidAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
