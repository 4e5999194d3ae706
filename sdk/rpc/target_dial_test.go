package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// listen serves each connection of a loopback listener with serve until
// the test ends.
func listen(t *testing.T, serve func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().String()
}

// dial dials addr on tgt with a deadline, so that a broken half-close
// fails the test rather than hanging it; nil when it failed.
func dial(ctx context.Context, t *testing.T, tgt sdk.Target, addr string) sdk.Conn {
	conn, err := tgt.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Error(err)
		return nil
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return conn
}

// TestRemoteDialCloseWrite: the plugin's CloseWrite reaches the host's
// peer as end-of-stream, and the reply still comes back (a server that
// reads its request to the end, as Docker's image load does).
func TestRemoteDialCloseWrite(t *testing.T) {
	addr := listen(t, func(c *net.TCPConn) {
		data, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got %d bytes: %s", len(data), data)
	})
	onPlugin(t, &sdktest.Target{TargetName: "web1"}, func(ctx context.Context, tgt sdk.Target) {
		conn := dial(ctx, t, tgt, addr)
		if conn == nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "hello")
		if err := conn.CloseWrite(); err != nil {
			t.Errorf("CloseWrite: %v", err)
		}
		if _, err := io.WriteString(conn, "more"); err == nil {
			t.Error("Write after CloseWrite succeeded")
		}
		reply, err := io.ReadAll(conn)
		if err != nil || string(reply) != "got 5 bytes: hello" {
			t.Errorf("reply = %q, %v", reply, err)
		}
	})
}

// TestRemoteDialPeerEOF: the host's peer ending its side gives the
// plugin's reads io.EOF while its writes still go.
func TestRemoteDialPeerEOF(t *testing.T) {
	got := make(chan string, 1)
	addr := listen(t, func(c *net.TCPConn) {
		_, _ = io.WriteString(c, "banner")
		_ = c.CloseWrite()
		data, _ := io.ReadAll(c)
		got <- string(data)
	})
	onPlugin(t, &sdktest.Target{TargetName: "web1"}, func(ctx context.Context, tgt sdk.Target) {
		conn := dial(ctx, t, tgt, addr)
		if conn == nil {
			return
		}
		defer conn.Close()
		if banner, err := io.ReadAll(conn); err != nil || string(banner) != "banner" {
			t.Errorf("read to EOF = %q, %v", banner, err)
		}
		if _, err := io.WriteString(conn, "after eof"); err != nil {
			t.Errorf("Write after the peer's EOF: %v", err)
		}
		_ = conn.Close()
	})
	select {
	case data := <-got:
		if data != "after eof" {
			t.Errorf("the peer got %q, want the bytes written after its EOF", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer never saw the end of the connection")
	}
}

// TestRemoteDialDeadlines: a dialled connection honours net.Conn's
// deadlines.
func TestRemoteDialDeadlines(t *testing.T) {
	addr := listen(t, func(c *net.TCPConn) { _, _ = io.Copy(io.Discard, c) })
	onPlugin(t, &sdktest.Target{TargetName: "web1"}, func(ctx context.Context, tgt sdk.Target) {
		conn := dial(ctx, t, tgt, addr)
		if conn == nil {
			return
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read past its deadline: err = %v, want os.ErrDeadlineExceeded", err)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(-time.Second))
		if _, err := conn.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Write past its deadline: err = %v, want os.ErrDeadlineExceeded", err)
		}
		_ = conn.SetDeadline(time.Time{})
		if _, err := conn.Write([]byte("x")); err != nil {
			t.Errorf("Write without a deadline: %v", err)
		}
	})
}

// TestTargetLivesForTheRun: calls on one plugin connection that carry the
// same target give the plugin the same sdk.Target, and what the plugin
// keeps for it (a dialled connection) works in a later step.
func TestTargetLivesForTheRun(t *testing.T) {
	addr := echoServer(t)
	type kept struct {
		target sdk.Target
		conn   sdk.Conn
	}
	var steps []kept
	step := &action{
		schema: &schema.Action{Name: "step", Outputs: []*schema.Attribute{attr("echo", cty.String, false)}},
		run: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			var conn sdk.Conn
			for _, k := range steps {
				if k.target == req.Target {
					conn = k.conn
				}
			}
			if conn == nil {
				var err error
				// The connection outlives the step: ctx bounds dialling only.
				if conn, err = req.Target.Dial(ctx, "tcp", addr); err != nil {
					return nil, err
				}
				t.Cleanup(func() { _ = conn.Close() })
			}
			steps = append(steps, kept{req.Target, conn})
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, req.Info.Step); err != nil {
				return nil, err
			}
			buf := make([]byte, len(req.Info.Step))
			if _, err := io.ReadFull(conn, buf); err != nil {
				return nil, err
			}
			return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"echo": cty.StringVal(string(buf))})}, nil
		},
	}
	client := sdktest.GRPC(t, testPlugin(step))
	web1, web2 := &sdktest.Target{TargetName: "web1"}, &sdktest.Target{TargetName: "web2"}
	for i, target := range []sdk.Target{web1, web2, web1} {
		name := fmt.Sprintf("step.s%d", i)
		resp, err := client.RunAction(t.Context(), "step", &sdk.RunRequest{
			Args: cty.EmptyObjectVal, Info: sdk.RunInfo{Step: name}, Target: target, UI: sdktest.NewUI(nil, sdk.RunInfo{}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Diagnostics.HasErrors() {
			t.Fatalf("%s: %s", name, resp.Diagnostics.Err())
		}
		if got := resp.Outputs.GetAttr("echo").AsString(); got != name {
			t.Errorf("%s echoed %q", name, got)
		}
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps ran", len(steps))
	}
	if steps[0].target != steps[2].target || steps[0].conn != steps[2].conn {
		t.Error("the plugin got a new target for web1 in a later step")
	}
	if steps[0].target == steps[1].target {
		t.Error("web1 and web2 are one target on the plugin's side")
	}
	if steps[1].target.Name() != "web2" {
		t.Errorf("web2's target is named %q", steps[1].target.Name())
	}
}

// sliceTarget is a target that cannot be a map key.
type sliceTarget struct {
	*sdktest.Target
	tags []string
}

// TestTargetNotComparable: a target the host cannot recognise again is
// served for each call alone, without a panic.
func TestTargetNotComparable(t *testing.T) {
	target := sliceTarget{Target: &sdktest.Target{TargetName: "odd", Files: map[string][]byte{"/f": []byte("x")}}, tags: []string{"a"}}
	client := sdktest.GRPC(t, testPlugin(fnAction(func(ctx context.Context, tgt sdk.Target) {
		if got, err := readFile(ctx, tgt, "/f"); got != "x" || err != nil {
			t.Errorf("read %q, %v", got, err)
		}
	})))
	for range 2 {
		resp, err := client.RunAction(t.Context(), "fn", &sdk.RunRequest{Args: cty.EmptyObjectVal, Target: target, UI: sdktest.NewUI(nil, sdk.RunInfo{})})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Diagnostics.HasErrors() {
			t.Fatal(resp.Diagnostics.Err())
		}
	}
}
