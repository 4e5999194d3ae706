package main

import (
	"testing"
	"time"
)

// TestPanicExitCode: a panic in zrun, in main's goroutine or one that
// cmd/zrun starts, exits with the crash code, not Go's 2 (the usage-error
// code).
func TestPanicExitCode(t *testing.T) {
	t.Run("main goroutine", func(t *testing.T) {
		code := func() (code int) {
			defer crashed(&code)
			panic("boom")
		}()
		if code != exitCrash {
			t.Errorf("code = %d, want %d", code, exitCrash)
		}
	})
	t.Run("a goroutine of cmd/zrun", func(t *testing.T) {
		codes := make(chan int, 1)
		defer func(old func(int)) { crashExit = old }(crashExit)
		crashExit = func(code int) { codes <- code }
		goSafe(func() { panic("boom") })
		select {
		case code := <-codes:
			if code != exitCrash {
				t.Errorf("code = %d, want %d", code, exitCrash)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the panic did not end zrun")
		}
	})
}
