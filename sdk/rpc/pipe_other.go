//go:build !unix

package rpc

import "net"

// bufferedPipe is net.Pipe here.
func bufferedPipe() (net.Conn, net.Conn) { return net.Pipe() }
