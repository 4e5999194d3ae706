package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk/pipe"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// runMux is the host's end of a plugin connection's Run stream. The stream
// opens with the first call, and again with the first call after it broke.
type runMux struct {
	client pb.PluginClient

	mu  sync.Mutex
	cur *runStream
}

// start sends a call's request and returns the call, whose events follow.
func (m *runMux) start(ctx context.Context, req *pb.RunAction_Request) (*runCall, error) {
	s, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.err != nil { // broke since open: the call fails as the others did
		s.mu.Unlock()
		return nil, s.err
	}
	s.last++
	c := &runCall{id: s.last, s: s, ready: make(chan struct{}, 1)}
	s.calls[c.id] = c
	s.mu.Unlock()
	if err := s.send(&pb.Run_Request{Call: c.id, Msg: &pb.Run_Request_Start{Start: req}}); err != nil {
		c.end()
		return nil, err
	}
	return c, nil
}

// open returns the open stream, opening one if there is none. The stream
// outlives the call that opens it, so it takes ctx's values but not its
// cancellation; it ends with the connection.
func (m *runMux) open(ctx context.Context) (*runStream, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != nil && !m.cur.broken() {
		return m.cur, nil
	}
	stream, err := m.client.Run(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	m.cur = &runStream{stream: stream, calls: map[uint64]*runCall{}}
	go m.cur.recv()
	return m.cur, nil
}

// runStream is one Run stream and the calls in flight on it.
type runStream struct {
	stream pb.Plugin_RunClient
	// sendMu serialises sends: a gRPC stream takes one at a time.
	sendMu sync.Mutex

	// mu guards what follows and every call's queue, err and window.
	mu    sync.Mutex
	calls map[uint64]*runCall
	last  uint64 // the last call id given out
	err   error  // why the stream ended; nil while it is open
}

func (s *runStream) broken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// send sends a request. io.EOF means the stream ended: recv learns why and
// fails the calls in flight, so it is not an error here.
func (s *runStream) send(req *pb.Run_Request) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// recv hands every response to its call until the stream ends, then
// fails the calls still in flight with the stream's error. It never
// waits for a call: the window bounds what each call can queue.
func (s *runStream) recv() {
	for {
		resp, err := s.stream.Recv()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				err = errors.New("the plugin ended the run without a result")
			case status.Code(err) == codes.Unimplemented:
				err = fmt.Errorf("the plugin does not serve zrun's Run stream, so it was built with an older zrun SDK: rebuild it with this one (%w)", err)
			}
			s.fail(err)
			return
		}
		if cancel := s.deliver(resp); cancel != 0 {
			_ = s.send(&pb.Run_Request{Call: cancel, Msg: &pb.Run_Request_Cancel{Cancel: true}})
		}
	}
}

// deliver queues resp for its call; a response for a call the host has
// forgotten (cancelled) is dropped. It returns the id of a call to cancel
// because the plugin overran its window, or 0.
func (s *runStream) deliver(resp *pb.Run_Response) (cancel uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[resp.GetCall()]
	if c == nil {
		return 0
	}
	if final(resp) {
		delete(s.calls, c.id)
	} else if resp.GetEvent() != nil {
		cost := eventCost(resp.GetEvent())
		if c.unacked > 0 && c.unacked+cost > runWindow {
			delete(s.calls, c.id)
			c.queue, c.err = nil, errors.New("the plugin sent output past its flow-control window: this is a bug in the plugin")
			c.notify()
			return c.id
		}
		c.unacked += cost
	}
	c.queue = append(c.queue, resp)
	c.notify()
	return 0
}

func (s *runStream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	for id, c := range s.calls {
		c.err = err
		c.notify()
		delete(s.calls, id)
	}
}

// runCall is one RunAction in flight, read by the goroutine that made it.
type runCall struct {
	id    uint64
	s     *runStream
	ready chan struct{} // signalled (capacity 1) when queue or err changes

	queue   []*pb.Run_Response
	err     error
	unacked int64 // bytes of events received and not acknowledged
	done    int64 // of which consumed, to acknowledge
}

func (c *runCall) notify() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// next returns the call's next response, acknowledging what the caller
// consumed once it is half the window.
func (c *runCall) next(ctx context.Context) (*pb.Run_Response, error) {
	s := c.s
	for {
		s.mu.Lock()
		if len(c.queue) > 0 {
			resp := c.queue[0]
			c.queue[0], c.queue = nil, c.queue[1:]
			var credit int64
			if !final(resp) && resp.GetEvent() != nil {
				if c.done += eventCost(resp.GetEvent()); c.done >= runWindow/2 {
					credit, c.unacked, c.done = c.done, c.unacked-c.done, 0
				}
			}
			s.mu.Unlock()
			if credit > 0 {
				if err := s.send(&pb.Run_Request{Call: c.id, Msg: &pb.Run_Request_Credit{Credit: uint64(credit)}}); err != nil {
					return nil, err
				}
			}
			return resp, nil
		}
		err := c.err
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// end forgets the call. A call that did not finish (its ctx was
// cancelled) is cancelled in the plugin.
func (c *runCall) end() {
	s := c.s
	s.mu.Lock()
	_, inFlight := s.calls[c.id]
	delete(s.calls, c.id)
	s.mu.Unlock()
	if inFlight {
		_ = s.send(&pb.Run_Request{Call: c.id, Msg: &pb.Run_Request_Cancel{Cancel: true}})
	}
}

// answerStreamWait answers the plugin's question on how the producer of
// input arg's stream ended, once it has. Nothing is sent if ctx ends (the
// call did): the plugin forgets a call's waits when it ends.
func (c *runCall) answerStreamWait(ctx context.Context, ends *pipe.Ends, arg string) {
	res := &pb.Run_StreamResult{Arg: arg, Ok: true}
	var err error
	if _, ok := ends.Inputs[arg]; !ok || ends.Result == nil {
		err = fmt.Errorf("argument %q carries no stream from another step", arg)
	} else {
		err = ends.Result(ctx, arg)
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		res.Ok, res.Error = false, err.Error()
	}
	_ = c.s.send(&pb.Run_Request{Call: c.id, Msg: &pb.Run_Request_StreamResult{StreamResult: res}})
}
