package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// serveRPC serves srv over loopback TCP with opts and returns the host's
// client for it.
func serveRPC(t *testing.T, srv pb.PluginServer, opts ...grpc.ServerOption) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	pb.RegisterPluginServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return NewClient(conn, nil)
}

// servePlugin serves actions as a plugin's gRPC server does.
func servePlugin(t *testing.T, opts []grpc.ServerOption, actions ...sdk.Action) *Client {
	t.Helper()
	return serveRPC(t, &server{impl: sdk.InProcess(&sdk.Plugin{Name: "test", Actions: actions})}, opts...)
}

type waitArgs struct {
	Name string `zrun:"name"`
}

// waiter blocks each call until its ctx ends or release[name] is closed,
// and reports on seen[name] what ended it.
func waiter(release map[string]chan struct{}, seen map[string]chan error) sdk.Action {
	return sdk.NewAction("wait", "Wait.", func(ctx context.Context, a waitArgs, _ sdk.UI) (struct{}, error) {
		select {
		case <-release[a.Name]:
			seen[a.Name] <- nil
			return struct{}{}, nil
		case <-ctx.Done():
			seen[a.Name] <- ctx.Err()
			return struct{}{}, ctx.Err()
		}
	})
}

func nameArgs(name string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)})
}

// TestRunCallsShareOneStream: every RunAction of a connection goes over
// one Run stream, opened by the first, so a step pays no stream setup.
func TestRunCallsShareOneStream(t *testing.T) {
	var streams atomic.Int32
	count := grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		streams.Add(1)
		return handler(srv, ss)
	})
	ok := sdk.NewAction("ok", "Succeed.", func(context.Context, struct{}, sdk.UI) (struct{}, error) { return struct{}{}, nil })
	client := servePlugin(t, []grpc.ServerOption{count}, ok)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				if _, err := client.RunAction(t.Context(), "ok", &sdk.RunRequest{Args: cty.EmptyObjectVal}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := streams.Load(); got != 1 {
		t.Errorf("100 calls opened %d streams, want 1", got)
	}
}

// TestRunCancelOnlyThatCall: cancelling one call cancels its action and
// no other call on the stream.
func TestRunCancelOnlyThatCall(t *testing.T) {
	release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	seen := map[string]chan error{"a": make(chan error, 1), "b": make(chan error, 1)}
	client := servePlugin(t, nil, waiter(release, seen))
	ctxA, cancelA := context.WithCancel(t.Context())
	done := map[string]chan error{"a": make(chan error, 1), "b": make(chan error, 1)}
	for name, ctx := range map[string]context.Context{"a": ctxA, "b": t.Context()} {
		go func() {
			_, err := client.RunAction(ctx, "wait", &sdk.RunRequest{Args: nameArgs(name)})
			done[name] <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // both calls in flight
	cancelA()
	if err := waitFor(t, seen["a"]); !errors.Is(err, context.Canceled) {
		t.Errorf("action a's ctx: got %v, want context.Canceled", err)
	}
	if err := waitFor(t, done["a"]); !errors.Is(err, context.Canceled) {
		t.Errorf("call a: got %v, want context.Canceled", err)
	}
	select {
	case err := <-seen["b"]:
		t.Fatalf("action b ended with a's cancellation: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release["b"])
	if err := waitFor(t, seen["b"]); err != nil {
		t.Errorf("action b: %v", err)
	}
	if err := waitFor(t, done["b"]); err != nil {
		t.Errorf("call b: %v", err)
	}
}

func waitFor(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		return nil
	}
}

// stuckUI is an sdk.UI whose Stdout and Progress block until release is
// closed, as a slow terminal would; it counts the lines it was given.
type stuckUI struct {
	release chan struct{}
	lines   atomic.Int64
}

func (u *stuckUI) Logf(string, ...any)           {}
func (u *stuckUI) Stdout() io.Writer             { return u }
func (u *stuckUI) Stderr() io.Writer             { return io.Discard }
func (u *stuckUI) Progress(int64, int64, string) { <-u.release }
func (u *stuckUI) Target() sdk.Target            { return nil }
func (u *stuckUI) Info() sdk.RunInfo             { return sdk.RunInfo{} }
func (u *stuckUI) InputStream(string) (io.ReadCloser, error) {
	return nil, nil
}
func (u *stuckUI) OutputStream(string) (io.WriteCloser, error) { return nil, nil }
func (u *stuckUI) Write(p []byte) (int, error) {
	<-u.release
	u.lines.Add(int64(strings.Count(string(p), "\n")))
	return len(p), nil
}

// TestRunFloodBounded: a call whose output the host consumes slowly is
// held back by its window, so the host's memory stays bounded, while the
// other calls on the stream go on.
func TestRunFloodBounded(t *testing.T) {
	const lines, lineSize = 400, 4 << 10 // 1.6 MiB, six windows
	var written atomic.Int64
	flood := sdk.NewAction("flood", "Write lines.", func(_ context.Context, _ struct{}, ui sdk.UI) (struct{}, error) {
		line := []byte(strings.Repeat("x", lineSize-1) + "\n")
		for range lines {
			if _, err := ui.Stdout().Write(line); err != nil {
				return struct{}{}, err
			}
			written.Add(lineSize)
		}
		return struct{}{}, nil
	})
	ok := sdk.NewAction("ok", "Succeed.", func(context.Context, struct{}, sdk.UI) (struct{}, error) { return struct{}{}, nil })
	client := servePlugin(t, nil, flood, ok)
	ui := &stuckUI{release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := client.RunAction(t.Context(), "flood", &sdk.RunRequest{Args: cty.EmptyObjectVal, UI: ui})
		done <- err
	}()
	// Another call completes while the flood is stuck.
	if _, err := client.RunAction(t.Context(), "ok", &sdk.RunRequest{Args: cty.EmptyObjectVal}); err != nil {
		t.Fatal(err)
	}
	// Let the flood run into its window.
	for prev := int64(-1); written.Load() != prev; time.Sleep(100 * time.Millisecond) {
		prev = written.Load()
	}
	if got, most := written.Load(), int64(runWindow+2*lineSize); got > most {
		t.Errorf("the action wrote %d bytes the host had not consumed, want at most %d", got, most)
	}
	close(ui.release)
	if err := waitFor(t, done); err != nil {
		t.Fatal(err)
	}
	if got := ui.lines.Load(); got != lines {
		t.Errorf("the host got %d lines, want %d", got, lines)
	}
}

// overrunServer answers a call with more output than the window allows,
// without waiting for credit.
type overrunServer struct{ pb.UnimplementedPluginServer }

func (overrunServer) Run(stream pb.Plugin_RunServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	message := strings.Repeat("x", 100<<10)
	for range 3 {
		ev := &pb.RunAction_Event{Event: &pb.RunAction_Event_Progress{Progress: &pb.RunAction_Progress{Message: message}}}
		if err := stream.Send(&pb.Run_Response{Call: req.GetCall(), Msg: &pb.Run_Response_Event{Event: ev}}); err != nil {
			return err
		}
	}
	_, err = stream.Recv() // the host's cancel
	return err
}

// TestRunWindowOverrun: a plugin that ignores its window fails its call
// instead of growing the host's memory.
func TestRunWindowOverrun(t *testing.T) {
	client := serveRPC(t, overrunServer{})
	// The host is stuck on the first event while the others arrive.
	ui := &stuckUI{release: make(chan struct{})}
	time.AfterFunc(200*time.Millisecond, func() { close(ui.release) })
	_, err := client.RunAction(t.Context(), "any", &sdk.RunRequest{Args: cty.EmptyObjectVal, UI: ui})
	if err == nil || !strings.Contains(err.Error(), "past its flow-control window") {
		t.Errorf("got %v, want the window overrun", err)
	}
}

// TestRunStreamEnds: when the stream ends, every call in flight fails
// with its error, and only those.
func TestRunStreamEnds(t *testing.T) {
	release := map[string]chan struct{}{}
	seen := map[string]chan error{}
	for _, n := range []string{"a", "b", "c"} {
		release[n], seen[n] = make(chan struct{}), make(chan error, 1)
	}
	close(release["c"])
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterPluginServer(s, &server{impl: sdk.InProcess(&sdk.Plugin{Name: "test", Actions: []sdk.Action{waiter(release, seen)}})})
	go func() { _ = s.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := NewClient(conn, nil)
	if _, err := client.RunAction(t.Context(), "wait", &sdk.RunRequest{Args: nameArgs("c")}); err != nil {
		t.Fatalf("a finished call: %v", err)
	}
	done := make(chan error, 2)
	for _, n := range []string{"a", "b"} {
		go func() {
			_, err := client.RunAction(t.Context(), "wait", &sdk.RunRequest{Args: nameArgs(n)})
			done <- err
		}()
	}
	time.Sleep(50 * time.Millisecond)
	s.Stop()
	for range 2 {
		if err := waitFor(t, done); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("a call in flight when the stream ended: got %v, want the stream's error", err)
		}
	}
}

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

// TestRunFramesPerCall: with the connections' options, a call in a
// chain of calls costs each side one write, its message: no flow-control
// pings or window updates beside it.
func TestRunFramesPerCall(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serverWrites, clientWrites atomic.Int64
	s := NewGRPCServer(nil)
	ok := sdk.NewAction("ok", "Succeed.", func(context.Context, struct{}, sdk.UI) (struct{}, error) { return struct{}{}, nil })
	pb.RegisterPluginServer(s, &server{impl: sdk.InProcess(&sdk.Plugin{Name: "test", Actions: []sdk.Action{ok}})})
	go func() { _ = s.Serve(countingListener{lis, &serverWrites}) }()
	t.Cleanup(s.Stop)
	dial := grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &clientWrites}, nil
	})
	conn, err := grpc.NewClient(lis.Addr().String(), append(DialOptions(), dial, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := NewClient(conn, nil)
	call := func() {
		if _, err := client.RunAction(t.Context(), "ok", &sdk.RunRequest{Args: cty.EmptyObjectVal}); err != nil {
			t.Fatal(err)
		}
	}
	call() // the connection's and the stream's setup
	const calls = 200
	s0, c0 := serverWrites.Load(), clientWrites.Load()
	for range calls {
		call()
		time.Sleep(200 * time.Microsecond) // as a step's command would
	}
	for side, n := range map[string]int64{"plugin": serverWrites.Load() - s0, "host": clientWrites.Load() - c0} {
		if n > calls+calls/10 {
			t.Errorf("%d calls: the %s wrote %d times, want about %d", calls, side, n, calls)
		}
	}
}

// TestRunOldPlugin: a plugin built before the Run stream fails its steps
// with an error that says so.
func TestRunOldPlugin(t *testing.T) {
	client := serveRPC(t, pb.UnimplementedPluginServer{})
	_, err := client.RunAction(t.Context(), "any", &sdk.RunRequest{Args: cty.EmptyObjectVal})
	if err == nil || !strings.Contains(err.Error(), "built with an older zrun SDK") {
		t.Errorf("got %v, want the old-SDK error", err)
	}
}
