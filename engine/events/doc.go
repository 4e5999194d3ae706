// Package events is the model of what happens during a run: a run and its
// steps start, log, report progress and finish. The engine emits events to a
// Sink; only cmd/zrun renders them (terminal view, plain lines, JSON lines).
//
// The engine calls Sink.Event from many goroutines at once, so every Sink
// must be safe for concurrent use. Events carry values that are already
// redacted: a sink may print anything it receives.
//
// The package imports only the standard library.
package events
