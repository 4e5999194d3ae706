package rpc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// closeGrace bounds how long a closed connection's stream waits for the
// host to end it (after the last bytes written have gone) before it is
// cancelled.
const closeGrace = 30 * time.Second

// dialedConn is the plugin's end of a connection the host dialled. Each
// direction is a pipe of its own, so that one can end while the other
// goes on (half-close), and pipes keep net.Conn's deadlines. Two pumps
// move the bytes between the pipes' other ends and the stream. What the
// caller writes waits in a buffered pipe, so that its small writes go as
// large messages.
type dialedConn struct {
	in     net.Conn // the caller reads here; the receive pump writes its peer
	out    net.Conn // the caller writes here; the send pump reads its peer
	remote addr

	closeOnce sync.Once
	closed    chan struct{}

	mu      sync.Mutex
	recvErr error // why the host's side ended, when it was not end-of-stream
	sendErr error // why the stream took no more data
}

func newDialedConn(stream pb.Target_DialClient, cancel func(), remote addr) *dialedConn {
	in, inPeer := net.Pipe()
	out, outPeer := bufferedPipe()
	c := &dialedConn{in: in, out: out, remote: remote, closed: make(chan struct{})}
	var pumps sync.WaitGroup
	pumps.Go(func() { c.send(stream, outPeer) })
	pumps.Go(func() { c.receive(stream, inPeer) })
	go func() {
		pumps.Wait()
		cancel()
	}()
	go func() {
		<-c.closed
		t := time.AfterFunc(closeGrace, cancel)
		pumps.Wait()
		t.Stop()
	}()
	return c
}

// send copies what the caller writes to the stream. The end of the
// caller's writes is CloseWrite (a close_write message) or Close (the
// stream's end, once Close has been called, so the last bytes go first).
func (c *dialedConn) send(stream pb.Target_DialClient, outPeer net.Conn) {
	err := copyChunks(outPeer, func(b []byte) error {
		return stream.Send(&pb.Dial_Request{Msg: &pb.Dial_Request_Data{Data: b}})
	})
	if err == nil && !c.isClosed() {
		err = stream.Send(&pb.Dial_Request{Msg: &pb.Dial_Request_CloseWrite{CloseWrite: true}})
	}
	if err != nil {
		// The receive pump learns why from the stream's status; Write
		// prefers that.
		c.mu.Lock()
		c.sendErr = fmt.Errorf("rpc: the host ended the connection to %s", c.remote)
		c.mu.Unlock()
		_ = outPeer.Close()
	}
	<-c.closed
	_ = stream.CloseSend()
}

// receive copies what the host sends to the caller's reads. Once the
// caller has closed the connection, it drains the stream, so that the
// host is never stuck sending to it.
func (c *dialedConn) receive(stream pb.Target_DialClient, inPeer net.Conn) {
	defer inPeer.Close()
	drain := false
	for {
		resp, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.mu.Lock()
				c.recvErr = fromStatus(err)
				c.mu.Unlock()
			}
			return
		}
		switch msg := resp.GetMsg().(type) {
		case *pb.Dial_Response_Data:
			if !drain {
				if _, err := inPeer.Write(msg.Data); err != nil {
					drain = true
				}
			}
		case *pb.Dial_Response_Eof:
			_ = inPeer.Close()
			drain = true
		}
	}
}

func (c *dialedConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Read reads what the host received; io.EOF once the target's peer has
// ended its side.
func (c *dialedConn) Read(p []byte) (int, error) {
	n, err := c.in.Read(p)
	if errors.Is(err, io.EOF) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.recvErr != nil {
			return n, c.recvErr
		}
	}
	return n, err
}

func (c *dialedConn) Write(p []byte) (int, error) {
	n, err := c.out.Write(p)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.recvErr != nil {
			return n, c.recvErr
		}
		if c.sendErr != nil {
			return n, c.sendErr
		}
	}
	return n, err
}

// CloseWrite ends the caller's writes: the target's peer reads
// end-of-stream, and this end can still read.
func (c *dialedConn) CloseWrite() error { return c.out.Close() }

// Close ends the connection. The bytes written before it still go.
func (c *dialedConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		_ = c.in.Close()
		_ = c.out.Close()
	})
	return nil
}

func (c *dialedConn) LocalAddr() net.Addr  { return c.in.LocalAddr() }
func (c *dialedConn) RemoteAddr() net.Addr { return c.remote }

func (c *dialedConn) SetDeadline(t time.Time) error {
	return errors.Join(c.in.SetReadDeadline(t), c.out.SetWriteDeadline(t))
}

func (c *dialedConn) SetReadDeadline(t time.Time) error  { return c.in.SetReadDeadline(t) }
func (c *dialedConn) SetWriteDeadline(t time.Time) error { return c.out.SetWriteDeadline(t) }

// Interface guards
var _ sdk.Conn = (*dialedConn)(nil)
