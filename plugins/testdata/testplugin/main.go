// Command testplugin is the plugin the plugins package's tests start, both
// as an external plugin (named zrun-plugin-<name>) and as a builtin (run
// as `testplugin __plugin NAME`). $TESTPLUGIN_VERSION sets its version.
package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

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

type checkedArgs struct {
	Value string `zrun:"value"`
}

// checked is an action whose validation refuses value "bad" and counts
// its calls in $TESTPLUGIN_VALIDATIONS, a file, one line per call.
type checked struct{ sdk.Action }

func (checked) Validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	if f := os.Getenv("TESTPLUGIN_VALIDATIONS"); f != "" {
		if out, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, _ = out.WriteString("validate\n")
			_ = out.Close()
		}
	}
	if v := req.Args.GetAttr("value"); v.IsKnown() && !v.IsNull() && v.AsString() == "bad" {
		return sdk.Diagnostics{}.Errorf(cty.GetAttrPath("value"), "Bad value", `"bad" is not allowed.`)
	}
	return nil
}

type pidOut struct {
	PID int `zrun:"pid"`
}

type logArgs struct {
	Level   string  `zrun:"level"`
	Message string  `zrun:"message"`
	Before  float64 `zrun:"before,optional"`  // seconds to wait before logging
	After   float64 `zrun:"after,optional"`   // and after
	Raw     string  `zrun:"raw,optional"`     // a line written to stderr as it is
	Swapped string  `zrun:"swapped,optional"` // a line written to os.Stderr as it is once the plugin serves
}

// logAction logs through an hclog JSON logger on the process's stderr, as
// the SDK's own logger does.
func logAction(logger hclog.Logger, stderr *os.File) func(context.Context, logArgs, sdk.UI) (struct{}, error) {
	return func(_ context.Context, a logArgs, _ sdk.UI) (struct{}, error) {
		time.Sleep(time.Duration(a.Before * float64(time.Second)))
		if a.Raw != "" {
			_, _ = stderr.WriteString(a.Raw + "\n")
		}
		logger.Log(hclog.LevelFromString(a.Level), a.Message, "attempt", 1)
		if a.Swapped != "" {
			_, _ = os.Stderr.WriteString(a.Swapped + "\n")
		}
		time.Sleep(time.Duration(a.After * float64(time.Second)))
		return struct{}{}, nil
	}
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
	// go-plugin swaps os.Stderr once it serves: keep the real one.
	stderr := os.Stderr
	logger := hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Trace, Output: stderr, JSONFormat: true})
	plugin.Serve(&sdk.Plugin{
		Name: name, Version: version, Description: "The plugins package's test plugin.",
		Actions: []sdk.Action{
			sdk.NewAction("log", "Log a line at a level.", logAction(logger, stderr)),
			sdk.NewAction("pid", "Return the process id.", func(context.Context, struct{}, sdk.UI) (pidOut, error) {
				return pidOut{PID: os.Getpid()}, nil
			}),
			sdk.NewAction("read", "Read a file on the target.", func(ctx context.Context, a readArgs, ui sdk.UI) (readOut, error) {
				r, err := ui.Target().Open(ctx, a.Path)
				if err != nil {
					return readOut{}, err
				}
				defer r.Close()
				data, err := io.ReadAll(r)
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
			checked{sdk.NewAction("checked", "Validate value; run does nothing.", func(context.Context, checkedArgs, sdk.UI) (struct{}, error) {
				return struct{}{}, nil
			})},
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
