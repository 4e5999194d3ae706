package rpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// server serves an sdk.Client as the Plugin service, in the plugin
// process.
type server struct {
	pb.UnimplementedPluginServer
	impl   sdk.Client
	broker *plugin.GRPCBroker
	// local is the target of calls whose host target is the local machine.
	local sdk.Target

	// mu guards conns: one connection per host broker id, dialed on the
	// first call that needs it. go-plugin hands a broker id's address out
	// once, so the connection must be shared by every later call.
	mu    sync.Mutex
	conns map[uint32]*grpc.ClientConn
	// targets holds every target the host has referred to, by broker id
	// and handle: the host keeps a target's handle for the run, so a
	// plugin gets the same sdk.Target in every call for one host target
	// and may key its per-target state on it.
	targets map[targetKey]*remoteTarget
}

type targetKey struct {
	brokerID uint32
	handle   uint64
}

func (s *server) GetSchema(ctx context.Context, _ *pb.GetSchema_Request) (*pb.GetSchema_Response, error) {
	sch, err := s.impl.GetSchema(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp, err := encodeSchema(sch)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding schema: %s", err)
	}
	return resp, nil
}

func (s *server) ValidateActions(ctx context.Context, req *pb.ValidateActions_Request) (*pb.ValidateActions_Response, error) {
	reqs := make([]*sdk.ValidateRequest, len(req.GetCalls()))
	for i, call := range req.GetCalls() {
		args, err := decodeArgs(call.GetArgs(), call.GetSensitivePaths())
		if err != nil {
			return nil, err
		}
		reqs[i] = &sdk.ValidateRequest{Action: call.GetAction(), Args: args}
	}
	all, err := s.impl.ValidateActions(ctx, reqs)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.ValidateActions_Response{Results: make([]*pb.ValidateActions_Result, len(all))}
	for i, diags := range all {
		resp.Results[i] = &pb.ValidateActions_Result{Diagnostics: encodeDiagnostics(diags)}
	}
	return resp, nil
}

func (s *server) PlanAction(ctx context.Context, req *pb.PlanAction_Request) (*pb.PlanAction_Response, error) {
	args, err := decodeArgs(req.GetArgs(), req.GetSensitivePaths())
	if err != nil {
		return nil, err
	}
	target, err := s.target(req.GetTarget())
	if err != nil {
		return nil, err
	}
	plan, diags, err := s.impl.PlanAction(ctx, req.GetAction(), &sdk.PlanRequest{Args: args, Info: decodeInfo(req.GetInfo()), Target: target})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.PlanAction_Response{Diagnostics: encodeDiagnostics(diags)}
	if plan != nil {
		resp.Changes, resp.NoOp = plan.Changes, plan.NoOp
	}
	return resp, nil
}

// runAction runs one call of the Run stream, sending its logs and
// progress through send, and returns its result.
// wait asks the host how the producer of an input stream ended.
func (s *server) runAction(ctx context.Context, req *pb.RunAction_Request, send func(*pb.RunAction_Event) error,
	wait func(ctx context.Context, arg string) error) (*pb.RunAction_Result, error) {
	args, err := decodeArgs(req.GetArgs(), req.GetSensitivePaths())
	if err != nil {
		return nil, err
	}
	target, err := s.target(req.GetTarget())
	if err != nil {
		return nil, err
	}
	ends := &pipe.Ends{Inputs: req.GetInputStreams(), Outputs: req.GetOutputStreams(), Result: wait}
	ui := newStreamUI(send, decodeInfo(req.GetInfo()), target, pipe.NewStreams(ctx, ends, args))
	end := startCall(ui)
	resp, err := s.impl.RunAction(ctx, req.GetAction(), &sdk.RunRequest{
		Args: args, Info: ui.info, Target: target, UI: ui,
	})
	end() // what the call wrote to stderr goes ahead of its answer
	ui.close()
	if err != nil {
		return nil, toStatus(err)
	}
	if resp == nil {
		resp = &sdk.RunResponse{}
	}
	result := &pb.RunAction_Result{Diagnostics: encodeDiagnostics(resp.Diagnostics)}
	result.Outputs, result.SensitivePaths, err = encodeValue(resp.Outputs)
	if err != nil {
		result.Diagnostics = append(result.Diagnostics, encodeDiagnostics(sdk.Diagnostics{}.Errorf(nil,
			"Invalid plugin outputs", fmt.Sprintf("The outputs cannot be encoded: %s. This is a bug in the plugin.", err)))...)
	}
	return result, nil
}

func decodeArgs(dv *pb.DynamicValue, sensitive []*pb.AttributePath) (args cty.Value, err error) {
	args, err = decodeValue(dv, sensitive)
	if err != nil {
		return args, status.Errorf(codes.InvalidArgument, "decoding arguments: %s", err)
	}
	return args, nil
}

// target returns the host's target for a call, or nil when it has none.
// The host's local target is this machine's: the plugin runs commands
// itself, without the go-plugin variables of its own environment.
func (s *server) target(ref *pb.TargetRef) (sdk.Target, error) {
	if ref.GetLocal() {
		return s.local, nil
	}
	if ref.GetBrokerId() == 0 {
		return nil, nil
	}
	key := targetKey{ref.GetBrokerId(), ref.GetHandle()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.targets[key]; ok {
		return t, nil
	}
	conn, err := s.dial(ref.GetBrokerId())
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "connecting to the host's target service: %s", err)
	}
	t := &remoteTarget{client: pb.NewTargetClient(conn), handle: ref.GetHandle(), name: ref.GetName()}
	if s.targets == nil {
		s.targets = map[targetKey]*remoteTarget{}
	}
	s.targets[key] = t
	return t, nil
}

// dial returns the connection to a host broker id; s.mu is held.
func (s *server) dial(id uint32) (*grpc.ClientConn, error) {
	if conn, ok := s.conns[id]; ok {
		return conn, nil
	}
	conn, err := s.broker.Dial(id)
	if err != nil {
		return nil, err
	}
	if s.conns == nil {
		s.conns = map[uint32]*grpc.ClientConn{}
	}
	s.conns[id] = conn
	return conn, nil
}

// pluginEnv names what go-plugin adds to a plugin process's environment:
// the commands a plugin runs must see the host's environment, not these.
func pluginEnv() []string {
	return []string{Handshake.MagicCookieKey, "PLUGIN_MIN_PORT", "PLUGIN_MAX_PORT", "PLUGIN_PROTOCOL_VERSIONS",
		"PLUGIN_CLIENT_CERT", "PLUGIN_MULTIPLEX_GRPC", plugin.EnvUnixSocketDir, plugin.EnvUnixSocketGroup}
}

// Interface guards
var _ pb.PluginServer = (*server)(nil)
