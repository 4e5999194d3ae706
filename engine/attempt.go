package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
)

// attempt runs an action once on target, holding a slot of sem (the
// run's parallelism) unless sem is nil or the step consumes a stream (see
// walkPipes.consumes), and settles the streams it produces with its
// outcome.
func (x *execution) attempt(ctx context.Context, b *boundStep, args cty.Value, info sdk.RunInfo, mask *masker, target sdk.Target, sem chan struct{}) (cty.Value, error) {
	pipes := pipesFrom(ctx)
	out, err := x.attemptOnce(ctx, b, args, info, mask, target, sem, pipes)
	pipes.attemptEnded(b, err, mask)
	if err != nil && ctx.Err() != nil {
		// Its consumer ended first, and cancelled it.
		return cty.NilVal, stopError(ctx)
	}
	return out, err
}

func (x *execution) attemptOnce(ctx context.Context, b *boundStep, args cty.Value, info sdk.RunInfo, mask *masker, target sdk.Target, sem chan struct{}, pipes *walkPipes) (cty.Value, error) {
	if sem != nil && !pipes.consumes(b) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return cty.NilVal, stopError(ctx)
		}
		defer func() { <-sem }()
	}
	if b.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.Timeout.Duration)
		defer cancel()
	}
	ui := newStepUI(x.sink, info, target, mask)
	ui.ends = pipes.ends(b)
	ui.streams = pipe.NewStreams(ctx, ui.ends, args)
	resp, err := b.client.RunAction(ctx, b.Action.Name, &sdk.RunRequest{Args: args, Info: info, Target: target, UI: ui})
	ui.flush()
	ui.streams.Close()
	switch {
	case ctx.Err() == context.DeadlineExceeded && b.Timeout != nil:
		return cty.NilVal, fmt.Errorf("timed out after %s: plugin %q did not finish %s in time", b.Timeout.Duration, b.Action.Plugin, b.Action)
	case ctx.Err() != nil:
		return cty.NilVal, stopError(ctx)
	case err != nil:
		return cty.NilVal, &pluginError{plugin: b.Action.Plugin, msg: err.Error()}
	case resp == nil:
		return cty.NilVal, &pluginError{plugin: b.Action.Plugin, msg: "no response"}
	case resp.Diagnostics.HasErrors():
		for _, d := range resp.Diagnostics {
			if d.Code == sdk.CodePluginPanicked {
				return cty.NilVal, &pluginError{plugin: b.Action.Plugin, msg: "panicked: " + firstLine(d.Detail)}
			}
		}
		return cty.NilVal, resp.Diagnostics.Err()
	}
	out := mask.MarkOutputs(markSensitive(resp.Outputs, b.action.Outputs))
	x.secrets.add(out)
	return out, nil
}

// stopError is the error of an attempt whose ctx ended, other than by
// the step's own timeout. Its status already says cancelled; the error
// says why, in an operator's words: the cause
// the run was cancelled with (zrun's "interrupted"), or the workflow's
// timeout, never "context deadline exceeded"; and it still matches
// errors.Is(err, ctx.Err()).
func stopError(ctx context.Context) error {
	err := ctx.Err()
	switch cause := context.Cause(ctx); {
	case cause != err:
		return &stopped{why: cause.Error(), err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &stopped{why: "the workflow's timeout passed", err: err}
	}
	return &stopped{why: "the run was cancelled", err: err}
}

type stopped struct {
	why string
	err error
}

func (e *stopped) Error() string { return e.why }
func (e *stopped) Unwrap() error { return e.err }

// pluginError is a failure of the plugin itself (crash, hang, broken
// wire), as opposed to an action reporting that its work failed.
type pluginError struct{ plugin, msg string }

func (e *pluginError) Error() string {
	if strings.Contains(e.msg, fmt.Sprintf("plugin %q", e.plugin)) {
		return e.msg // the plugins package named it already
	}
	return fmt.Sprintf("plugin %q failed: %s", e.plugin, e.msg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
