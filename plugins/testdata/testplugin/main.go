// Command testplugin is the plugin the plugins package's tests start, both
// as an external plugin (named zrun-plugin-<name>) and as a builtin (run
// as `testplugin __plugin NAME`). $TESTPLUGIN_VERSION sets its version.
package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
)

type sleepArgs struct {
	Seconds float64 `zrun:"seconds"`
}

type readArgs struct {
	Path string `zrun:"path"`
}

type readOut struct {
	Content string `zrun:"content"`
}

type execArgs struct {
	Command []string `zrun:"command"`
}

type execOut struct {
	Stdout string `zrun:"stdout"`
}

type pidOut struct {
	PID int `zrun:"pid"`
}

func main() {
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "zrun-plugin-")
	if len(os.Args) == 3 && os.Args[1] == "__plugin" {
		name = os.Args[2]
	}
	version := os.Getenv("TESTPLUGIN_VERSION")
	if version == "" {
		version = "1.2.0"
	}
	plugin.Serve(&sdk.Plugin{
		Name: name, Version: version, Description: "The plugins package's test plugin.",
		Actions: []sdk.Action{
			sdk.NewAction("pid", "Return the process id.", func(context.Context, struct{}, sdk.UI) (pidOut, error) {
				return pidOut{PID: os.Getpid()}, nil
			}),
			sdk.NewAction("read", "Read a file on the target.", func(ctx context.Context, a readArgs, ui sdk.UI) (readOut, error) {
				data, err := ui.Target().ReadFile(ctx, a.Path)
				ui.Logf("read %d bytes on %s", len(data), ui.Target().Name())
				return readOut{Content: string(data)}, err
			}),
			sdk.NewAction("true", "Run true on the target.", func(ctx context.Context, _ struct{}, ui sdk.UI) (struct{}, error) {
				_, err := ui.Target().Exec(ctx, &sdk.Command{Args: []string{"true"}, Stdout: ui.Stdout(), Stderr: ui.Stderr()})
				return struct{}{}, err
			}),
			sdk.NewAction("exec", "Run a command on the target; return its stdout.", func(ctx context.Context, a execArgs, ui sdk.UI) (execOut, error) {
				var out strings.Builder
				_, err := ui.Target().Exec(ctx, &sdk.Command{Args: a.Command, Stdout: &out, Stderr: ui.Stderr()})
				return execOut{Stdout: out.String()}, err
			}),
			sdk.NewAction("crash", "Crash the process mid-call.", func(context.Context, struct{}, sdk.UI) (struct{}, error) {
				go panic("crash requested by the test")
				time.Sleep(time.Minute)
				return struct{}{}, nil
			}),
			sdk.NewAction("sleep", "Sleep, or until cancelled.", func(ctx context.Context, a sleepArgs, _ sdk.UI) (struct{}, error) {
				select {
				case <-time.After(time.Duration(a.Seconds * float64(time.Second))):
				case <-ctx.Done():
				}
				return struct{}{}, ctx.Err()
			}),
		},
	})
}
