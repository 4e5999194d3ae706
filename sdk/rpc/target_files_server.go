package rpc

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// Open streams a file to the plugin. Send blocks while the plugin's
// flow-control window is full, so a slow reader holds the file back
// rather than growing this process's memory.
func (s *targetServer) Open(req *pb.Open_Request, stream pb.Target_OpenServer) error {
	t, err := s.lookup(req.GetHandle())
	if err != nil {
		return err
	}
	r, err := t.Open(stream.Context(), req.GetPath())
	if err != nil {
		return toStatus(err)
	}
	defer r.Close()
	if err := stream.Send(&pb.Open_Response{Msg: &pb.Open_Response_Opened{Opened: true}}); err != nil {
		return err
	}
	err = copyChunks(r, func(b []byte) error {
		return stream.Send(&pb.Open_Response{Msg: &pb.Open_Response_Data{Data: b}})
	})
	if err != nil {
		return toStatus(err)
	}
	return nil
}

// Create writes a file the plugin streams. Only a commit publishes it:
// anything else that ends the stream (the plugin closing its side first,
// an error, a cancellation) aborts it.
func (s *targetServer) Create(stream pb.Target_CreateServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	start := req.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "Create must begin with Start")
	}
	t, err := s.lookup(start.GetHandle())
	if err != nil {
		return err
	}
	opts := &sdk.CreateOptions{Mode: fs.FileMode(start.GetMode()), Owner: start.GetOwner(), Group: start.GetGroup(), NoSync: start.GetNoSync()}
	w, err := t.Create(stream.Context(), start.GetPath(), opts)
	if err != nil {
		return toStatus(err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	if err := stream.Send(&pb.Create_Response{Msg: &pb.Create_Response_Created{Created: true}}); err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			committed = true // so that the deferred Abort does not repeat
			if err := w.Abort(); err != nil {
				return toStatus(err)
			}
			return status.Error(codes.Aborted, "the file was discarded: the plugin ended it without a commit")
		}
		if err != nil {
			return err
		}
		switch msg := req.GetMsg().(type) {
		case *pb.Create_Request_Data:
			if _, err := w.Write(msg.Data); err != nil {
				return toStatus(err)
			}
		case *pb.Create_Request_LocalFile:
			if err := copyLocal(stream, w, msg.LocalFile); err != nil {
				return err
			}
		case *pb.Create_Request_Commit:
			committed = true
			if err := w.Close(); err != nil {
				return toStatus(err)
			}
			return nil
		default:
			return status.Error(codes.InvalidArgument, "Create sends data, then a commit")
		}
	}
}

func (s *targetServer) Stat(ctx context.Context, req *pb.Stat_Request) (*pb.Stat_Response, error) {
	t, err := s.lookup(req.GetHandle())
	if err != nil {
		return nil, err
	}
	fi, err := t.Stat(ctx, req.GetPath())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.Stat_Response{Info: encodeFileInfo(fi)}, nil
}

func (s *targetServer) ReadDir(ctx context.Context, req *pb.ReadDir_Request) (*pb.ReadDir_Response, error) {
	t, err := s.lookup(req.GetHandle())
	if err != nil {
		return nil, err
	}
	list, err := t.ReadDir(ctx, req.GetPath())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.ReadDir_Response{Entries: make([]*pb.FileInfo, len(list))}
	for i, fi := range list {
		resp.Entries[i] = encodeFileInfo(fi)
	}
	return resp, nil
}

func (s *targetServer) MkdirAll(ctx context.Context, req *pb.MkdirAll_Request) (*pb.MkdirAll_Response, error) {
	t, err := s.lookup(req.GetHandle())
	if err != nil {
		return nil, err
	}
	if err := t.MkdirAll(ctx, req.GetPath(), fs.FileMode(req.GetPerm())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.MkdirAll_Response{}, nil
}

func (s *targetServer) Remove(ctx context.Context, req *pb.Remove_Request) (*pb.Remove_Response, error) {
	t, err := s.lookup(req.GetHandle())
	if err != nil {
		return nil, err
	}
	if err := t.Remove(ctx, req.GetPath()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Remove_Response{}, nil
}

func (s *targetServer) Rename(ctx context.Context, req *pb.Rename_Request) (*pb.Rename_Response, error) {
	t, err := s.lookup(req.GetHandle())
	if err != nil {
		return nil, err
	}
	if err := t.Rename(ctx, req.GetOldPath(), req.GetNewPath()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Rename_Response{}, nil
}
