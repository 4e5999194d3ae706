package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// Open reads the file on a stream of its own, bounded by ctx. The host
// answers once the file is open, so a missing file fails Open itself.
func (t *remoteTarget) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := t.client.Open(ctx, &pb.Open_Request{Handle: t.handle, Path: path})
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, recvErr(err)
	}
	if !resp.GetOpened() {
		cancel()
		return nil, errors.New("rpc: the host sent data before opening the file")
	}
	return &remoteReader{stream: stream, cancel: cancel}, nil
}

// remoteReader reads a file the host streams, one chunk at a time: the
// host sends more as the stream's flow-control window lets it.
// Close may come from another goroutine while a Read waits.
type remoteReader struct {
	stream pb.Target_OpenClient
	cancel context.CancelFunc
	closed atomic.Bool
	buf    []byte
	err    error // sticky: io.EOF at the end of the file
}

func (r *remoteReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, fs.ErrClosed
	}
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		resp, err := r.stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			r.err = io.EOF
		case err != nil:
			r.err = fromStatus(err)
		default:
			r.buf = resp.GetData()
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close ends the stream: the host stops reading the file, and a Read
// waiting for it returns.
func (r *remoteReader) Close() error {
	r.closed.Store(true)
	r.cancel()
	return nil
}

// Create writes the file on a stream of its own, bounded by ctx: the host
// publishes it on the commit that Close sends, and discards it when the
// stream ends otherwise.
func (t *remoteTarget) Create(ctx context.Context, path string, opts *sdk.CreateOptions) (sdk.FileWriter, error) {
	if opts == nil {
		opts = &sdk.CreateOptions{}
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := t.client.Create(ctx)
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	start := &pb.Create_Start{Handle: t.handle, Path: path, Mode: uint32(opts.Mode), Owner: opts.Owner, Group: opts.Group, NoSync: opts.NoSync}
	if err := stream.Send(&pb.Create_Request{Msg: &pb.Create_Request_Start{Start: start}}); err != nil {
		cancel()
		return nil, recvErr(stream.RecvMsg(new(pb.Create_Response)))
	}
	resp, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, recvErr(err)
	}
	if !resp.GetCreated() {
		cancel()
		return nil, errors.New("rpc: the host did not start the file")
	}
	return &remoteWriter{stream: stream, ctx: ctx, cancel: cancel, path: path}, nil
}

// remoteWriter is a file the host is writing. mu serialises the calls:
// a gRPC stream takes one sender at a time.
type remoteWriter struct {
	stream pb.Target_CreateClient
	ctx    context.Context
	cancel context.CancelFunc
	path   string

	mu   sync.Mutex
	done error // nil while the file is open
}

// errPublished is the state of a file that Close has published.
var errPublished = errors.New("the file has been published")

func (w *remoteWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		return 0, fmt.Errorf("write %s: %w", w.path, w.done)
	}
	for off := 0; off < len(p); off += chunkSize {
		chunk := p[off:min(off+chunkSize, len(p))]
		if err := w.stream.Send(&pb.Create_Request{Msg: &pb.Create_Request_Data{Data: chunk}}); err != nil {
			// The host ended the call: its status says why.
			w.end(recvErr(w.stream.RecvMsg(new(pb.Create_Response))))
			return off, w.done
		}
	}
	return len(p), nil
}

// Close commits the file and waits for the host to publish it.
func (w *remoteWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done == errPublished {
		return nil
	}
	if w.done != nil {
		return fmt.Errorf("close %s: %w", w.path, w.done)
	}
	// The stream's end may not have reached the host yet: a commit sent
	// now could still publish the file.
	if w.ctx.Err() != nil {
		w.end(fmt.Errorf("the file was discarded: %w", context.Cause(w.ctx)))
		return fmt.Errorf("close %s: %w", w.path, w.done)
	}
	if err := w.stream.Send(&pb.Create_Request{Msg: &pb.Create_Request_Commit{Commit: true}}); err != nil {
		w.end(recvErr(w.stream.RecvMsg(new(pb.Create_Response))))
		return w.done
	}
	_ = w.stream.CloseSend()
	if err := w.stream.RecvMsg(new(pb.Create_Response)); !errors.Is(err, io.EOF) {
		w.end(recvErr(err))
		return w.done
	}
	w.end(errPublished)
	return nil
}

// Abort closes the stream without a commit and waits for the host to
// discard the file, so that it is gone when Abort returns. While a Write
// is in flight (held back by a host that does not take the bytes), Abort
// cancels the stream instead, which ends the Write; the host discards the
// file as it sees the cancellation.
func (w *remoteWriter) Abort() error {
	if !w.mu.TryLock() {
		w.cancel()
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if w.done != nil {
		return nil
	}
	_ = w.stream.CloseSend()
	err := w.stream.RecvMsg(new(pb.Create_Response))
	w.end(errors.New("the file was discarded: aborted"))
	switch status.Code(err) {
	case codes.Aborted, codes.Canceled, codes.DeadlineExceeded:
		// Discarded: on Abort's missing commit, or on the end of ctx.
		return nil
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fromStatus(err)
}

// end records why the file is done and releases the stream.
func (w *remoteWriter) end(why error) {
	w.done = why
	w.cancel()
}

func (t *remoteTarget) Stat(ctx context.Context, path string) (*sdk.FileInfo, error) {
	resp, err := t.client.Stat(ctx, &pb.Stat_Request{Handle: t.handle, Path: path})
	if err != nil {
		return nil, fromStatus(err)
	}
	return decodeFileInfo(resp.GetInfo()), nil
}

func (t *remoteTarget) ReadDir(ctx context.Context, path string) ([]*sdk.FileInfo, error) {
	resp, err := t.client.ReadDir(ctx, &pb.ReadDir_Request{Handle: t.handle, Path: path})
	if err != nil {
		return nil, fromStatus(err)
	}
	out := make([]*sdk.FileInfo, len(resp.GetEntries()))
	for i, fi := range resp.GetEntries() {
		out[i] = decodeFileInfo(fi)
	}
	return out, nil
}

func (t *remoteTarget) MkdirAll(ctx context.Context, path string, perm fs.FileMode) error {
	_, err := t.client.MkdirAll(ctx, &pb.MkdirAll_Request{Handle: t.handle, Path: path, Perm: uint32(perm)})
	return fromStatus(err)
}

func (t *remoteTarget) Remove(ctx context.Context, path string) error {
	_, err := t.client.Remove(ctx, &pb.Remove_Request{Handle: t.handle, Path: path})
	return fromStatus(err)
}

func (t *remoteTarget) Rename(ctx context.Context, oldpath, newpath string) error {
	_, err := t.client.Rename(ctx, &pb.Rename_Request{Handle: t.handle, OldPath: oldpath, NewPath: newpath})
	return fromStatus(err)
}

// Interface guards
var _ sdk.FileWriter = (*remoteWriter)(nil)
