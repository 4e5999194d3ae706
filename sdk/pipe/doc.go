// Package pipe carries the byte streams between two steps (schema
// Attribute.Stream): the unix socket each pipe is, and the UI methods
// InputStream and OutputStream built on it. The host (zrun's engine)
// allocates one socket address per pipe in a private directory and hands
// it to both steps (Ends); the side that runs each action, a plugin
// process (sdk/rpc) or the host itself for an in-process plugin, connects
// them here. The socket is only where the two meet: the consumer then
// hands its producer the write end of an OS pipe (SCM_RIGHTS), and the
// bytes go through that pipe, from one process to the other, as fast as a
// shell pipe: never through zrun's process, never whole in memory, with
// the pipe's buffer as the backpressure. An action may even give its pipe
// end to a child process (the reader's and writer's File), as exec.run
// gives its commands their stdin and stdout: then no Go code touches the
// bytes at all.
//
// The consumer listens and the producer dials. The consumer is the side
// that must watch its producer's outcome anyway (pipefail, below), so it
// also owns the listener's lifetime: an accept that races the producer's
// end. The producer only retries its dial until the consumer listens, or
// its step's ctx ends, which the host does when the consumer ends.
//
// pipefail, stricter than bash's: end of stream on the socket is not
// trusted, since a producer that dies closes its socket too. At the
// socket's end the consumer asks the host for the producer step's outcome
// (Ends.Result), and Read returns io.EOF only once that step has
// succeeded, or the producer's error otherwise. A producer that ends
// before it connected ends the consumer's accept the same way. A caller
// that handed the pipe to a child asks the reader's Wait instead, once
// the child has ended.
//
// This package knows nothing of the wire: sdk/rpc carries Ends and the
// Result question over the Run stream.
package pipe
