package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// chunkSize is the largest piece of a stream sent in one message: a
// message of it and its framing stays within gRPC's 32 KiB pooled
// buffers. At 32 KiB exactly each message took a larger buffer, cleared
// on every use: half the CPU time of a file's transfer.
const chunkSize = 32<<10 - 64

// remoteTarget is the plugin side's sdk.Target: every call goes back to
// the host's Target service.
type remoteTarget struct {
	client pb.TargetClient
	handle uint64
	name   string
}

func (t *remoteTarget) Name() string { return t.name }

func (t *remoteTarget) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := t.client.Exec(ctx)
	if err != nil {
		return nil, fromStatus(err)
	}
	start := &pb.Exec_Start{Handle: t.handle, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir, Stdin: cmd.Stdin != nil, Sudo: cmd.Sudo, NewConnection: cmd.NewConnection}
	if err := stream.Send(&pb.Exec_Request{Msg: &pb.Exec_Request_Start{Start: start}}); err != nil {
		return nil, recvErr(stream.RecvMsg(new(pb.Exec_Response)))
	}
	if cmd.Stdin == nil {
		_ = stream.CloseSend()
	} else {
		// Like os/exec, a reader that never ends is left behind when the
		// command exits; its later sends fail on the finished stream.
		go func() {
			_ = copyChunks(cmd.Stdin, func(b []byte) error {
				return stream.Send(&pb.Exec_Request{Msg: &pb.Exec_Request_Stdin{Stdin: b}})
			})
			_ = stream.CloseSend()
		}()
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return nil, recvErr(err)
		}
		switch msg := resp.GetMsg().(type) {
		case *pb.Exec_Response_Stdout:
			writeTo(cmd.Stdout, msg.Stdout)
		case *pb.Exec_Response_Stderr:
			writeTo(cmd.Stderr, msg.Stderr)
		case *pb.Exec_Response_ExitCode:
			return &sdk.ExecResult{ExitCode: int(msg.ExitCode)}, nil
		}
	}
}

func (t *remoteTarget) Dial(ctx context.Context, network, address string) (sdk.Conn, error) {
	// The connection outlives this call, so its stream must not end with
	// ctx; ctx only bounds establishing it.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := t.client.Dial(sctx)
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	open := &pb.Dial_Open{Handle: t.handle, Network: network, Address: address}
	if err := stream.Send(&pb.Dial_Request{Msg: &pb.Dial_Request_Open{Open: open}}); err != nil {
		cancel()
		return nil, recvErr(stream.RecvMsg(new(pb.Dial_Response)))
	}
	stop := context.AfterFunc(ctx, cancel)
	resp, err := stream.Recv()
	if !stop() {
		cancel()
		return nil, ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, recvErr(err)
	}
	if !resp.GetOpened() {
		cancel()
		return nil, errors.New("rpc: the host sent data before opening the connection")
	}
	return newDialedConn(stream, cancel, addr{network, address}), nil
}

type addr struct{ network, address string }

func (a addr) Network() string { return a.network }
func (a addr) String() string  { return a.address }

// recvErr makes the end of a stream without its last message an error.
func recvErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("rpc: the host closed the stream early")
	}
	return fromStatus(err)
}

// copyChunks reads r to its end, passing each piece to send. The buffer is
// reused: gRPC encodes a message before Send returns.
func copyChunks(r io.Reader, send func([]byte) error) error {
	buf := make([]byte, chunkSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := send(buf[:n]); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func writeTo(w io.Writer, b []byte) {
	if w != nil {
		_, _ = w.Write(b)
	}
}

// Interface guards
var _ sdk.Target = (*remoteTarget)(nil)
