// Command zrun runs operations workflows written in HCL through
// out-of-process plugins. It is the only part of zrun that prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// Exit codes, documented in README.
const (
	exitOK            = 0
	exitFailure       = 1 // an internal error
	exitUsage         = 2 // bad command line
	exitConfig        = 3 // the project's configuration is invalid
	exitRunFailed     = 4 // a step failed
	exitPluginFailure = 5 // a plugin crashed, hung or could not start
	exitLocked        = 6 // another run holds the environment's lock
	exitInterrupted   = 130
)

// exitError carries an exit code up to main; its message, if any, has
// not been printed yet.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	// Builtin plugins are this same binary started in plugin mode.
	if len(os.Args) == 3 && os.Args[1] == pluginModeArg {
		servePlugin(os.Args[2])
		return
	}
	os.Exit(profiled(func() int { return run(os.Args[1:]) }))
}

// profiled writes a CPU profile to $ZRUN_CPUPROFILE, for benchmarking zrun.
func profiled(f func() int) int {
	path := os.Getenv("ZRUN_CPUPROFILE")
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return exitFailure
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return exitFailure
	}
	defer pprof.StopCPUProfile()
	return f()
}

func run(args []string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app := newApp(os.Stdout, os.Stderr)
	defer app.close()

	// The first interrupt cancels gracefully: running actions get the
	// cancel and finally steps still run. The second one ends zrun now,
	// taking every plugin process with it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		app.interrupted.Store(true)
		fmt.Fprintln(os.Stderr, "\nInterrupt received: cancelling the run; finally steps still run. Press Ctrl-C again to stop at once.")
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "\nSecond interrupt: stopping now.")
		app.close()
		os.Exit(exitInterrupted)
	}()

	err := app.root().ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "Error:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	return exitUsage
}
