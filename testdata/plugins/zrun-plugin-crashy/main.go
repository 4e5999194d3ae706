// Command zrun-plugin-crashy is a test-only zrun plugin that misbehaves on
// purpose, so that cmd/zrun's end-to-end tests can check how the host
// survives a plugin that dies, panics or hangs:
//
//   - crashy.crash logs a line, then exits the process with status 3;
//   - crashy.panic panics inside the action;
//   - crashy.hang ignores its context and sleeps for an hour.
package main

import (
	"context"
	"os"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
)

// Args are every crashy action's arguments.
type Args struct {
	Message string `zrun:"message,optional" help:"A line to log before misbehaving."`
}

// Outputs are every crashy action's outputs; a crashy action never
// returns them.
type Outputs struct {
	Done bool `zrun:"done" help:"Never set: the action does not finish."`
}

func crash(_ context.Context, args Args, ui sdk.UI) (Outputs, error) {
	ui.Logf("about to crash: %s", args.Message)
	// Give the log line time to reach the host before the process dies.
	time.Sleep(200 * time.Millisecond)
	os.Exit(3)
	return Outputs{}, nil
}

func panicAction(_ context.Context, args Args, ui sdk.UI) (Outputs, error) {
	ui.Logf("about to panic: %s", args.Message)
	panic("crashy: deliberate panic")
}

func hang(_ context.Context, args Args, ui sdk.UI) (Outputs, error) {
	ui.Logf("about to hang: %s", args.Message)
	time.Sleep(time.Hour)
	return Outputs{Done: true}, nil
}

func crashyPlugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "crashy",
		Version:     "0.1.0",
		Description: "A test plugin that crashes, panics or hangs on purpose.",
		Actions: []sdk.Action{
			sdk.NewAction("crash", "Log a line, then exit the plugin process with status 3.", crash),
			sdk.NewAction("panic", "Log a line, then panic.", panicAction),
			sdk.NewAction("hang", "Log a line, then sleep for an hour, ignoring cancellation.", hang),
		},
	}
}

func main() { plugin.Serve(crashyPlugin()) }
