package state

import (
	"fmt"
	"os"
)

// HolderAlive reports whether the process holding a lock may still be
// running. Only a holder on this host (h.Host equals os.Hostname()) can be
// checked: it is alive unless signalling its PID fails with "no such
// process". A holder on another host, or one without a PID, is assumed
// alive: only `zrun unlock --force` releases it.
//
// A PID reused by an unrelated process makes a dead holder look alive;
// that errs on the safe side (the lock stays until forced).
func HolderAlive(h LockHolder) bool {
	host, err := os.Hostname()
	if err != nil || h.Host != host || h.PID <= 0 {
		return true
	}
	return pidAlive(h.PID)
}

// TakeOverReason is the Error recorded on a running run whose lock next
// took over because its process (dead) was gone.
func TakeOverReason(dead, next LockHolder) string {
	return fmt.Sprintf("abandoned: process %d on %s is gone; run %s took over lock %s", dead.PID, dead.Host, next.RunID, next.Key)
}

// ForceUnlockReason is the Error recorded on a running run whose locks
// `zrun unlock --force` released.
const ForceUnlockReason = "abandoned: its lock was released by force"
