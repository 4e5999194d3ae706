//go:build linux

package rpc

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
)

// CaptureStderr makes the SDK own the process's stderr (see stderr.go):
// file descriptor 2 becomes the write end of a pipe the SDK reads, and
// so, at its first call, does the os.Stderr go-plugin installs once it
// serves. A fatal crash's report still goes straight to the host's
// stderr. plugin.Serve calls it; it is for plugin processes only, once.
func CaptureStderr() error {
	if capture.Load() != nil {
		return nil
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return fmt.Errorf("capturing stderr: %w", err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "stderr-capture"), os.NewFile(uintptr(fds[1]), "stderr-capture")
	realFD, err := syscall.Dup(2)
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return fmt.Errorf("capturing stderr: %w", err)
	}
	syscall.CloseOnExec(realFD)
	real := os.NewFile(uintptr(realFD), "stderr")
	if err := syscall.Dup3(fds[1], 2, 0); err != nil {
		_ = r.Close()
		_ = w.Close()
		_ = real.Close()
		return fmt.Errorf("capturing stderr: %w", err)
	}
	// A fatal error ends the process before the reader could pass its
	// report on: the runtime writes it to real as well.
	_ = debug.SetCrashOutput(real, debug.CrashOptions{})
	c := newStderrCapture(real, w)
	var mu sync.Mutex
	adopted := os.Stderr
	c.adopt = func() {
		mu.Lock()
		defer mu.Unlock()
		if os.Stderr == adopted {
			return
		}
		adopted = os.Stderr
		if sc, err := adopted.SyscallConn(); err == nil {
			_ = sc.Control(func(fd uintptr) { _ = syscall.Dup3(fds[1], int(fd), 0) })
		}
	}
	capture.Store(c)
	go func() {
		_, _ = io.Copy(c, r) // the pipe never ends while the process lives
	}()
	return nil
}
