package rpc

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// Client is the host's sdk.Client for a plugin served over gRPC. Safe for
// concurrent use. Errors are transport failures (a crashed plugin, a
// cancelled ctx); the caller names the plugin in them.
type Client struct {
	client  pb.PluginClient
	targets *targetServer
	runs    *runMux
}

// NewClient returns a Client over conn. broker serves the calls' targets
// back to the plugin; it may be nil if no call has a target.
func NewClient(conn grpc.ClientConnInterface, broker *plugin.GRPCBroker) *Client {
	client := pb.NewPluginClient(conn)
	return &Client{client: client, targets: &targetServer{broker: broker}, runs: &runMux{client: client}}
}

// GetSchema fetches and checks the plugin's schema.
func (c *Client) GetSchema(ctx context.Context) (*schema.Plugin, error) {
	resp, err := c.client.GetSchema(ctx, &pb.GetSchema_Request{})
	if err != nil {
		return nil, callErr(ctx, err)
	}
	return decodeSchema(resp)
}

// ValidateActions asks the plugin to check many steps' arguments, in one
// call.
func (c *Client) ValidateActions(ctx context.Context, reqs []*sdk.ValidateRequest) ([]sdk.Diagnostics, error) {
	calls := make([]*pb.ValidateActions_Call, len(reqs))
	for i, req := range reqs {
		args, paths, err := encodeValue(req.Args)
		if err != nil {
			return nil, fmt.Errorf("encoding the arguments of %s: %w", req.Action, err)
		}
		calls[i] = &pb.ValidateActions_Call{Action: req.Action, Args: args, SensitivePaths: paths}
	}
	resp, err := c.client.ValidateActions(ctx, &pb.ValidateActions_Request{Calls: calls})
	if err != nil {
		return nil, callErr(ctx, err)
	}
	if len(resp.GetResults()) != len(reqs) {
		return nil, fmt.Errorf("the plugin answered %d validations of %d: this is a bug in the plugin", len(resp.GetResults()), len(reqs))
	}
	out := make([]sdk.Diagnostics, len(reqs))
	for i, r := range resp.GetResults() {
		out[i] = decodeDiagnostics(r.GetDiagnostics())
	}
	return out, nil
}

// PlanAction asks the plugin what an action would change; req.Target
// serves the plugin's communicator calls meanwhile.
func (c *Client) PlanAction(ctx context.Context, action string, req *sdk.PlanRequest) (*sdk.PlanResponse, sdk.Diagnostics, error) {
	args, paths, err := encodeValue(req.Args)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding arguments: %w", err)
	}
	ref, done := c.targets.serve(req.Target)
	defer done()
	resp, err := c.client.PlanAction(ctx, &pb.PlanAction_Request{
		Action: action, Args: args, SensitivePaths: paths, Info: encodeInfo(req.Info), Target: ref,
	})
	if err != nil {
		return nil, nil, callErr(ctx, err)
	}
	return &sdk.PlanResponse{Changes: resp.GetChanges(), NoOp: resp.GetNoOp()}, decodeDiagnostics(resp.GetDiagnostics()), nil
}

// RunAction runs an action on the connection's Run stream, forwarding its
// logs and progress to req.UI as they arrive. Cancelling ctx cancels the
// action's ctx in the plugin, and only this action's.
func (c *Client) RunAction(ctx context.Context, action string, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	args, paths, err := encodeValue(req.Args)
	if err != nil {
		return nil, fmt.Errorf("encoding arguments: %w", err)
	}
	ref, done := c.targets.serve(req.Target)
	defer done()
	ends := pipeEnds(req.UI)
	call, err := c.runs.start(ctx, &pb.RunAction_Request{
		Action: action, Args: args, SensitivePaths: paths, Info: encodeInfo(req.Info), Target: ref,
		InputStreams: ends.Inputs, OutputStreams: ends.Outputs,
	})
	if err != nil {
		return nil, callErr(ctx, err)
	}
	defer call.end()
	// The answers to the plugin's stream waits end with the call.
	waitCtx, stopWaits := context.WithCancel(ctx)
	defer stopWaits()
	for {
		resp, err := call.next(ctx)
		if err != nil {
			return nil, callErr(ctx, err)
		}
		if st := resp.GetError(); st != nil {
			return nil, callErr(ctx, status.Error(codes.Code(st.GetCode()), st.GetMessage()))
		}
		if arg, ok := resp.GetMsg().(*pb.Run_Response_StreamWait); ok {
			go call.answerStreamWait(waitCtx, ends, arg.StreamWait)
			continue
		}
		switch ev := resp.GetEvent().GetEvent().(type) {
		case *pb.RunAction_Event_Log:
			forwardLog(req, ev.Log)
		case *pb.RunAction_Event_Progress:
			if req.UI != nil {
				req.UI.Progress(ev.Progress.GetDone(), ev.Progress.GetTotal(), ev.Progress.GetMessage())
			}
		case *pb.RunAction_Event_Result:
			return decodeResult(ev.Result)
		}
	}
}

// pipeEnds returns the pipes the host's UI has for the step, if any.
func pipeEnds(ui sdk.UI) *pipe.Ends {
	if h, ok := ui.(pipe.Host); ok {
		if ends := h.PipeEnds(); ends != nil {
			return ends
		}
	}
	return &pipe.Ends{}
}

func decodeResult(r *pb.RunAction_Result) (*sdk.RunResponse, error) {
	resp := &sdk.RunResponse{Diagnostics: decodeDiagnostics(r.GetDiagnostics())}
	outputs, err := decodeValue(r.GetOutputs(), r.GetSensitivePaths())
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Invalid plugin outputs",
			fmt.Sprintf("The plugin's outputs cannot be decoded: %s. This is a bug in the plugin.", err))
		outputs = cty.NilVal
	}
	resp.Outputs = outputs
	return resp, nil
}

func forwardLog(req *sdk.RunRequest, l *pb.RunAction_Log) {
	ui := req.UI
	if ui == nil {
		return
	}
	switch l.GetStream() {
	case pb.RunAction_Log_STREAM_STDOUT:
		_, _ = ui.Stdout().Write(l.GetData())
	case pb.RunAction_Log_STREAM_STDERR:
		_, _ = ui.Stderr().Write(l.GetData())
	case pb.RunAction_Log_STREAM_PLUGIN_LOG:
		if req.PluginLog != nil {
			_, _ = req.PluginLog.Write(l.GetData())
			return
		}
		_, _ = ui.Stderr().Write(l.GetData())
	default:
		ui.Logf("%s", l.GetData())
	}
}

// callErr prefers ctx's own error, so callers can test for cancellation
// with errors.Is.
func callErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fromStatus(err)
}

// Interface guards
var _ sdk.Client = (*Client)(nil)
