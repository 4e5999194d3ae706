package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/status"

	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// Run serves a Run stream: each call runs in its own goroutine, with its
// own ctx, until the host cancels it or the stream ends.
func (s *server) Run(stream pb.Plugin_RunServer) error {
	r := &runServer{s: s, stream: stream, calls: map[uint64]*serverCall{}}
	return r.serve()
}

// runServer is the plugin's end of one Run stream.
type runServer struct {
	s      *server
	stream pb.Plugin_RunServer
	// sendMu serialises sends: a gRPC stream takes one at a time.
	sendMu sync.Mutex
	wg     sync.WaitGroup

	// mu guards calls and every call's credit.
	mu    sync.Mutex
	calls map[uint64]*serverCall
}

// serverCall is one call in flight.
type serverCall struct {
	cancel context.CancelFunc
	credit int64         // bytes of events it may still send
	more   chan struct{} // signalled (capacity 1) when credit grows
	// waits are the stream waits asked and not answered, by argument.
	waits map[string]chan *pb.Run_StreamResult
}

// serve reads the host's requests until the stream ends, then cancels
// the calls in flight and waits for them.
func (r *runServer) serve() error {
	for {
		req, err := r.stream.Recv()
		if err != nil {
			r.cancelAll()
			r.wg.Wait()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		id := req.GetCall()
		switch msg := req.GetMsg().(type) {
		case *pb.Run_Request_Start:
			ctx, cancel := context.WithCancel(r.stream.Context())
			c := &serverCall{cancel: cancel, credit: runWindow, more: make(chan struct{}, 1), waits: map[string]chan *pb.Run_StreamResult{}}
			r.mu.Lock()
			r.calls[id] = c
			r.mu.Unlock()
			r.wg.Add(1)
			go r.run(ctx, id, c, msg.Start)
		case *pb.Run_Request_Cancel:
			r.mu.Lock()
			if c := r.calls[id]; c != nil {
				c.cancel()
			}
			r.mu.Unlock()
		case *pb.Run_Request_Credit:
			r.mu.Lock()
			if c := r.calls[id]; c != nil {
				c.credit += int64(msg.Credit)
				select {
				case c.more <- struct{}{}:
				default:
				}
			}
			r.mu.Unlock()
		case *pb.Run_Request_StreamResult:
			r.mu.Lock()
			if c := r.calls[id]; c != nil {
				if ch := c.waits[msg.StreamResult.GetArg()]; ch != nil {
					delete(c.waits, msg.StreamResult.GetArg())
					ch <- msg.StreamResult
				}
			}
			r.mu.Unlock()
		}
	}
}

func (r *runServer) cancelAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		c.cancel()
	}
}

func (r *runServer) run(ctx context.Context, id uint64, c *serverCall, req *pb.RunAction_Request) {
	defer r.wg.Done()
	defer c.cancel()
	result, err := r.s.runAction(ctx, req,
		func(ev *pb.RunAction_Event) error { return r.event(ctx, id, c, ev) },
		func(ctx context.Context, arg string) error { return r.streamWait(ctx, id, c, arg) })
	r.mu.Lock()
	delete(r.calls, id)
	r.mu.Unlock()
	resp := &pb.Run_Response{Call: id}
	if err != nil {
		st := status.Convert(err)
		resp.Msg = &pb.Run_Response_Error{Error: &pb.Run_Status{Code: uint32(st.Code()), Message: st.Message()}}
	} else {
		resp.Msg = &pb.Run_Response_Event{Event: &pb.RunAction_Event{Event: &pb.RunAction_Event_Result{Result: result}}}
	}
	_ = r.send(resp) // an error means the host went away: nobody to tell
}

// event sends a log or progress event once the call's window has room
// for it; a call out of credit waits for the host, or for its ctx.
func (r *runServer) event(ctx context.Context, id uint64, c *serverCall, ev *pb.RunAction_Event) error {
	cost := eventCost(ev)
	r.mu.Lock()
	for c.credit < cost && c.credit < runWindow {
		r.mu.Unlock()
		select {
		case <-c.more:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	c.credit -= cost
	r.mu.Unlock()
	return r.send(&pb.Run_Response{Call: id, Msg: &pb.Run_Response_Event{Event: ev}})
}

// streamWait asks the host how the producer of input arg's stream ended,
// and waits for its answer, or for ctx.
func (r *runServer) streamWait(ctx context.Context, id uint64, c *serverCall, arg string) error {
	ch := make(chan *pb.Run_StreamResult, 1)
	r.mu.Lock()
	if c.waits[arg] != nil {
		r.mu.Unlock()
		return fmt.Errorf("stream argument %q: its producer's outcome is already awaited", arg)
	}
	c.waits[arg] = ch
	r.mu.Unlock()
	if err := r.send(&pb.Run_Response{Call: id, Msg: &pb.Run_Response_StreamWait{StreamWait: arg}}); err != nil {
		return fmt.Errorf("asking the host how the stream's producer ended: %w", err)
	}
	select {
	case res := <-ch:
		if !res.GetOk() {
			return errors.New(res.GetError())
		}
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (r *runServer) send(resp *pb.Run_Response) error {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	return r.stream.Send(resp)
}
