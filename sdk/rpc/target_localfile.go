package rpc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// ReadFrom copies r into the file. When r is a regular local file (an
// *os.File, which io.Copy hands on wrapped: plugins run on the host's
// machine) the host copies it itself,
// by path, and its bytes cross no gRPC stream: an upload to a remote host
// then costs what the host's SSH connection costs. Anything else, or a
// file the host refuses, is sent in chunks like Write.
func (w *remoteWriter) ReadFrom(r io.Reader) (int64, error) {
	if f, ok := r.(osFile); ok {
		if n, handled, err := w.copyLocalFile(f); handled {
			return n, err
		}
	}
	return io.Copy(writerOnly{w}, r)
}

// copyLocalFile asks the host to copy the rest of f. handled is false
// when the host (or f) does not allow it and nothing was copied.
func (w *remoteWriter) copyLocalFile(f osFile) (n int64, handled bool, err error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	dev, ino, ok := fileID(fi)
	if !ok {
		return 0, false, nil
	}
	offset, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, false, nil
	}
	path, err := filepath.Abs(f.Name())
	if err != nil {
		return 0, false, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		return 0, true, fmt.Errorf("write %s: %w", w.path, w.done)
	}
	req := &pb.Create_LocalFile{Path: path, Dev: dev, Ino: ino, Offset: offset}
	if err := w.stream.Send(&pb.Create_Request{Msg: &pb.Create_Request_LocalFile{LocalFile: req}}); err != nil {
		w.end(recvErr(w.stream.RecvMsg(new(pb.Create_Response))))
		return 0, true, w.done
	}
	resp, err := w.stream.Recv()
	if err != nil {
		w.end(recvErr(err))
		return 0, true, w.done
	}
	if resp.GetLocalFileRefused() {
		return 0, false, nil
	}
	n = resp.GetCopied()
	// f reads on after what the host copied, as if this process had.
	if _, err := f.Seek(offset+n, io.SeekStart); err != nil {
		return n, true, err
	}
	return n, true, nil
}

// osFile is what copyLocalFile needs of an *os.File; io.Copy from one
// reaches ReadFrom through os.File.WriteTo, wrapped in a struct that
// embeds the *os.File.
type osFile interface {
	io.ReadSeeker
	Name() string
	Stat() (fs.FileInfo, error)
}

// writerOnly hides ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// copyLocal serves a LocalFile request: it copies the rest of the named
// file into w if the path still names the file the plugin holds open (the
// same device and inode), and answers how much it copied. A mismatch is
// refused, not an error: the plugin then sends the bytes itself.
func copyLocal(stream pb.Target_CreateServer, w sdk.FileWriter, req *pb.Create_LocalFile) error {
	f, err := os.Open(req.GetPath())
	if err != nil {
		return stream.Send(&pb.Create_Response{Msg: &pb.Create_Response_LocalFileRefused{LocalFileRefused: true}})
	}
	defer f.Close()
	fi, err := f.Stat()
	dev, ino, ok := uint64(0), uint64(0), false
	if err == nil && fi.Mode().IsRegular() {
		dev, ino, ok = fileID(fi)
	}
	if !ok || dev != req.GetDev() || ino != req.GetIno() || req.GetOffset() < 0 {
		return stream.Send(&pb.Create_Response{Msg: &pb.Create_Response_LocalFileRefused{LocalFileRefused: true}})
	}
	if _, err := f.Seek(req.GetOffset(), io.SeekStart); err != nil {
		return toStatus(err)
	}
	// Large writes: the SSH target hands each to SFTP's concurrent writer.
	n, err := io.CopyBuffer(writerOnly{w}, readerOnly{f}, make([]byte, 256<<10))
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return status.Error(codes.Aborted, "the file was discarded while it was copied")
		}
		return toStatus(err)
	}
	return stream.Send(&pb.Create_Response{Msg: &pb.Create_Response_Copied{Copied: n}})
}

// readerOnly hides WriteTo from io.Copy, so that the buffer size holds.
type readerOnly struct{ io.Reader }
