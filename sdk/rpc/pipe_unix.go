//go:build unix

package rpc

import (
	"net"
	"os"
	"syscall"
)

// bufferedPipe is a connected pair like net.Pipe, whose bytes wait in the
// kernel's buffer (a unix socket pair): a writer's many small writes (an
// HTTP client's 4 KiB) are read as a few large ones, so they cross the
// wire in large messages. It falls back to net.Pipe.
func bufferedPipe() (net.Conn, net.Conn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return net.Pipe()
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pipe")
		c, err := net.FileConn(f) // a duplicate of fd
		_ = f.Close()
		if err != nil {
			for _, c := range conns[:i] {
				_ = c.Close()
			}
			if i == 0 {
				_ = syscall.Close(fds[1])
			}
			return net.Pipe()
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}
