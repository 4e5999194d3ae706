package rpc

import (
	"context"
	"errors"
	"io/fs"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// toStatus turns an error from an sdk.Client or sdk.Target into a gRPC
// status whose code keeps the errors callers test for with errors.Is.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unknown
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, fs.ErrNotExist):
		code = codes.NotFound
	case errors.Is(err, fs.ErrExist):
		code = codes.AlreadyExists
	case errors.Is(err, fs.ErrPermission):
		code = codes.PermissionDenied
	}
	return status.Error(code, err.Error())
}

// fromStatus is the inverse of toStatus.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var sentinel error
	switch st.Code() {
	case codes.Canceled:
		sentinel = context.Canceled
	case codes.DeadlineExceeded:
		sentinel = context.DeadlineExceeded
	case codes.NotFound:
		sentinel = fs.ErrNotExist
	case codes.AlreadyExists:
		sentinel = fs.ErrExist
	case codes.PermissionDenied:
		sentinel = fs.ErrPermission
	default:
		return errors.New(st.Message())
	}
	return &remoteError{msg: st.Message(), sentinel: sentinel}
}

// remoteError is an error from the other side of the wire: its message as
// sent, matching the sentinel its code stands for.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
