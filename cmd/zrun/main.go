// Command zrun runs operations workflows written in HCL through
// out-of-process plugins. It is the only part of zrun that prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/zrun-dev/zrun/sdk/local"
)

// Exit codes, documented in README.
const (
	exitOK            = 0
	exitFailure       = 1  // an internal error
	exitUsage         = 2  // bad command line
	exitConfig        = 3  // the project's configuration is invalid
	exitRunFailed     = 4  // a step failed
	exitPluginFailure = 5  // a plugin crashed, hung or could not start
	exitLocked        = 6  // another run holds the environment's lock
	exitNotConfirmed  = 7  // a run in a protected environment was not confirmed
	exitCrash         = 70 // zrun itself panicked: a bug (EX_SOFTWARE of sysexits.h)
	exitInterrupted   = 130
)

// Bounds of a second interrupt: zrun exits within about stopWait, having
// tried for ledgerWait to record the run as cancelled.
const (
	ledgerWait = time.Second
	stopWait   = 1500 * time.Millisecond
)

// exitError carries an exit code up to main; its message, if any, has
// not been printed yet.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// composeBinary is zrun built with -tags compose, which has the compose
// importer (cmd_import.go); zrun runs `zrun import` through it, looked for
// beside its own executable, then on PATH (cmd_import_exec.go).
const composeBinary = "zrun-compose"

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

func run(args []string) (code int) {
	// zrun answers for every process its runs start, however deep:
	// orphans come to it, and none outlives it.
	if err := local.BecomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "Warning: cannot become a child subreaper; a step's daemons may outlive zrun:", err)
	}
	defer local.KillDescendants(time.Second)
	defer crashed(&code)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	app := newApp(os.Stdout, os.Stderr)
	defer app.close()

	// The first interrupt (SIGINT or SIGTERM) cancels gracefully: running
	// actions get the cancel and finally steps still run. The second one
	// ends zrun now, taking every process it started with it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	goSafe(func() {
		sig := <-sigs
		app.interrupted.Store(true)
		fmt.Fprintln(os.Stderr, "\nInterrupt received: cancelling the run; finally steps still run. Press Ctrl-C again to stop at once.")
		cancel(fmt.Errorf("interrupted (%s)", signalName(sig)))
		<-sigs
		fmt.Fprintln(os.Stderr, "\nSecond interrupt: stopping now.")
		stopNow(app)
	})

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

// stopNow ends zrun within stopWait whatever its plugins do (stopped ones
// included: SIGKILL works on them), killing every process it started, and
// records the run in progress as cancelled if the ledger answers in time.
func stopNow(app *app) {
	recorded := make(chan struct{})
	go func() {
		app.markCancelled(ledgerWait)
		close(recorded)
	}()
	local.KillDescendants(stopWait - ledgerWait/2)
	select {
	case <-recorded:
	case <-time.After(ledgerWait):
	}
	local.KillDescendants(stopWait / 4) // what started meanwhile
	os.Exit(exitInterrupted)
}

func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "Ctrl-C"
	}
	return sig.String()
}

// crashed turns a panic of the goroutine it is deferred in into zrun's
// crash exit code, once the calls deferred after it (closing plugins)
// have run. Go itself exits 2 on a panic no one recovers, which is the
// usage-error code: every goroutine cmd/zrun starts recovers (goSafe);
// those that libraries start, and fatal runtime errors (a stack
// overflow, running out of memory), still exit 2.
func crashed(code *int) {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "zrun crashed: %v\n\n%s\nThis is a bug in zrun; please report it with the lines above.\n", r, debug.Stack())
		*code = exitCrash
	}
}

// goSafe runs f in a goroutine whose panic exits zrun with exitCrash.
func goSafe(f func()) {
	go func() {
		code := 0
		defer func() {
			if code != 0 {
				crashExit(code)
			}
		}()
		defer crashed(&code)
		f()
	}()
}

// crashExit ends zrun after a panic in a goroutine other than main's.
var crashExit = func(code int) {
	local.KillDescendants(time.Second)
	os.Exit(code)
}
