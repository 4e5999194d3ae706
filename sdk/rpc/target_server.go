package rpc

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// targetServer is the host side of the Target service: it serves the
// targets of the calls in flight, each under its own handle, on one broker
// connection per plugin connection. Per-call broker servers would cost a
// socket and a TLS handshake per step.
type targetServer struct {
	pb.UnimplementedTargetServer
	broker *plugin.GRPCBroker

	start    sync.Once
	brokerID uint32

	mu      sync.Mutex
	next    uint64
	targets map[uint64]sdk.Target
}

// serve registers t for one call and returns the reference to send and a
// function that withdraws it. A nil t gives an empty reference.
func (s *targetServer) serve(t sdk.Target) (*pb.TargetRef, func()) {
	if t == nil {
		return nil, func() {}
	}
	if local.IsTarget(t) {
		return &pb.TargetRef{Local: true, Name: t.Name()}, func() {}
	}
	s.start.Do(func() {
		s.brokerID = s.broker.NextId()
		// The server lives as long as the broker: go-plugin stops it when
		// the plugin client closes.
		go s.broker.AcceptAndServe(s.brokerID, func(opts []grpc.ServerOption) *grpc.Server {
			srv := NewGRPCServer(opts)
			pb.RegisterTargetServer(srv, s)
			return srv
		})
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.targets == nil {
		s.targets = map[uint64]sdk.Target{}
	}
	s.next++
	h := s.next
	s.targets[h] = t
	return &pb.TargetRef{BrokerId: s.brokerID, Handle: h, Name: t.Name()}, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.targets, h)
	}
}

func (s *targetServer) lookup(h uint64) (sdk.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[h]
	if !ok {
		return nil, status.Error(codes.FailedPrecondition, "the target is no longer available: the step that received it has finished")
	}
	return t, nil
}

func (s *targetServer) Exec(stream pb.Target_ExecServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	start := req.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "Exec must begin with Start")
	}
	t, err := s.lookup(start.GetHandle())
	if err != nil {
		return err
	}
	var mu sync.Mutex // the target may write stdout and stderr concurrently
	send := func(resp *pb.Exec_Response) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(resp)
	}
	cmd := &sdk.Command{
		Args: start.GetArgs(), Env: start.GetEnv(), Dir: start.GetDir(),
		Stdout: sendWriter(func(b []byte) error {
			return send(&pb.Exec_Response{Msg: &pb.Exec_Response_Stdout{Stdout: b}})
		}),
		Stderr: sendWriter(func(b []byte) error {
			return send(&pb.Exec_Response{Msg: &pb.Exec_Response_Stderr{Stderr: b}})
		}),
	}
	if start.GetStdin() {
		pr, pw := io.Pipe()
		defer pr.Close()
		cmd.Stdin = pr
		go func() {
			for {
				req, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					_ = pw.Close()
					return
				}
				if err != nil {
					_ = pw.CloseWithError(err)
					return
				}
				if _, err := pw.Write(req.GetStdin()); err != nil {
					return
				}
			}
		}()
	}
	res, err := t.Exec(stream.Context(), cmd)
	if err != nil {
		return toStatus(err)
	}
	return send(&pb.Exec_Response{Msg: &pb.Exec_Response_ExitCode{ExitCode: int32(res.ExitCode)}})
}

func (s *targetServer) Dial(stream pb.Target_DialServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	open := req.GetOpen()
	if open == nil {
		return status.Error(codes.InvalidArgument, "Dial must begin with Open")
	}
	t, err := s.lookup(open.GetHandle())
	if err != nil {
		return err
	}
	conn, err := t.Dial(stream.Context(), open.GetNetwork(), open.GetAddress())
	if err != nil {
		return toStatus(err)
	}
	defer conn.Close()
	if err := stream.Send(&pb.Dial_Response{Msg: &pb.Dial_Response_Opened{Opened: true}}); err != nil {
		return err
	}
	// The plugin ends a connection by cancelling the stream: Recv fails,
	// and closing conn ends the copy below.
	go func() {
		defer conn.Close()
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			if _, err := conn.Write(req.GetData()); err != nil {
				return
			}
		}
	}()
	err = copyChunks(conn, func(b []byte) error {
		return stream.Send(&pb.Dial_Response{Msg: &pb.Dial_Response_Data{Data: b}})
	})
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// sendWriter is an io.Writer that sends each write as one message.
type sendWriter func([]byte) error

func (w sendWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += chunkSize {
		if err := w(p[off:min(off+chunkSize, len(p))]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// Interface guards
var _ pb.TargetServer = (*targetServer)(nil)
