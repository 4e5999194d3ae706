//go:build unix

package boltstore

import (
	"context"
	"os"
	"syscall"
	"time"
)

// Taking turns with other processes. A process that finds the ledger busy
// holds a read lock (fcntl) on <ledger>.wait while it waits; a process
// that has the ledger open asks the kernel (F_GETLK, which takes nothing)
// whether such a lock is held before each call and, if so, closes the file
// once its calls in flight are done and lets the waiters in before opening
// it again. Without this, a process whose parallel steps keep the file
// open back to back would shut out `zrun logs --follow` for as long as it
// runs. Testing without taking matters: a checker that took a lock, even
// for an instant, thousands of times a second could itself keep a waiter
// from ever registering.
//
// The kernel drops these locks when their process dies, so a kill leaves
// nothing behind. It also drops them when the process closes any
// descriptor of the file, which is why a Store never checks while it
// waits (both happen under Store.mu).

// waitPath is the ledger's turn-taking file.
func waitPath(path string) string { return path + ".wait" }

// startWaiting marks this process as waiting for the ledger until the
// returned function is called.
func startWaiting(path string) (stop func()) {
	f, err := os.OpenFile(waitPath(path), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		// Without the file others cannot see us wait: we still get in,
		// only later.
		return func() {}
	}
	// Nobody takes a write lock, so this never waits.
	_ = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &syscall.Flock_t{Type: syscall.F_RDLCK})
	return func() { f.Close() }
}

// othersWaiting reports whether another process is waiting for the ledger.
func othersWaiting(path string) bool {
	f, err := os.Open(waitPath(path))
	if err != nil {
		return false // nobody has waited yet
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	return syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk) == nil && lk.Type != syscall.F_UNLCK
}

// letWaitersIn waits, up to timeout, until no other process is waiting for
// the ledger: each stops waiting once it has opened the file (or given up).
func letWaitersIn(ctx context.Context, path string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for othersWaiting(path) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(500 * time.Microsecond)
	}
}
