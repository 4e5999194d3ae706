package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"reflect"
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
// targets of a plugin connection's calls, each under its own handle, on one
// broker connection per plugin connection. Per-call broker servers would
// cost a socket and a TLS handshake per step.
//
// A target keeps its handle while the connection lives: the same
// sdk.Target passed to many calls is served under one handle, so that the
// plugin sees one target for the run and may keep state per target (a
// Docker client holding a connection it dialled) from step to step.
type targetServer struct {
	pb.UnimplementedTargetServer
	broker *plugin.GRPCBroker

	start    sync.Once
	brokerID uint32

	mu      sync.Mutex
	next    uint64
	targets map[uint64]sdk.Target
	handles map[sdk.Target]uint64
}

// serve registers t and returns the reference to send and a function to
// call when the call ends. A nil t gives an empty reference. A target
// that cannot be a map key (a struct value holding a slice) cannot be
// recognised in a later call: it is served for the call only, and done
// withdraws it.
func (s *targetServer) serve(t sdk.Target) (ref *pb.TargetRef, done func()) {
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
	keep := reflect.TypeOf(t).Comparable() // else indexing s.handles panics
	if keep {
		if h, ok := s.handles[t]; ok {
			return &pb.TargetRef{BrokerId: s.brokerID, Handle: h, Name: t.Name()}, func() {}
		}
	}
	if s.targets == nil {
		s.targets, s.handles = map[uint64]sdk.Target{}, map[sdk.Target]uint64{}
	}
	s.next++
	h := s.next
	s.targets[h] = t
	ref = &pb.TargetRef{BrokerId: s.brokerID, Handle: h, Name: t.Name()}
	if keep {
		s.handles[t] = h
		return ref, func() {}
	}
	return ref, func() {
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
		return nil, status.Errorf(codes.FailedPrecondition, "the host serves no target %d on this connection (a target used after its call ended?)", h)
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
		Args: start.GetArgs(), Env: start.GetEnv(), Dir: start.GetDir(), Sudo: start.GetSudo(), NewConnection: start.GetNewConnection(),
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

// Dial serves a connection dialled on the target. Either side may
// half-close: the plugin's close_write becomes CloseWrite on conn, conn's
// end-of-stream an eof message, and the other direction goes on. The
// plugin ends the connection by closing its side of the stream.
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
	// A write stuck on a peer that does not read ends with the stream.
	stop := context.AfterFunc(stream.Context(), func() { _ = conn.Close() })
	defer stop()
	if err := stream.Send(&pb.Dial_Response{Msg: &pb.Dial_Response_Opened{Opened: true}}); err != nil {
		return err
	}
	received := make(chan struct{})
	go func() {
		defer close(received)
		receiveConn(stream, conn)
	}()
	err = copyChunks(conn, func(b []byte) error {
		return stream.Send(&pb.Dial_Response{Msg: &pb.Dial_Response_Data{Data: b}})
	})
	if errors.Is(err, net.ErrClosed) {
		return nil // closed by receiveConn: the plugin ended the connection
	}
	if err != nil {
		return toStatus(err)
	}
	// The peer ended its side; the plugin may still write.
	if err := stream.Send(&pb.Dial_Response{Msg: &pb.Dial_Response_Eof{Eof: true}}); err != nil {
		return err
	}
	<-received
	return nil
}

// receiveConn writes what the plugin sends to conn until the plugin ends
// the connection (or the stream fails), then closes conn.
func receiveConn(stream pb.Target_DialServer, conn sdk.Conn) {
	defer conn.Close()
	for {
		req, err := stream.Recv()
		if err != nil {
			return
		}
		switch msg := req.GetMsg().(type) {
		case *pb.Dial_Request_Data:
			if _, err := conn.Write(msg.Data); err != nil {
				return
			}
		case *pb.Dial_Request_CloseWrite:
			if err := conn.CloseWrite(); err != nil {
				return
			}
		}
	}
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
