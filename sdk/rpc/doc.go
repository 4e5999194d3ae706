// Package rpc carries the sdk contract over the wire: the gRPC service of
// sdk/proto/zrunplugin/v1 served by a plugin process (GRPCPlugin's server
// side, wrapping an sdk.Client such as sdk.InProcess) and the host's
// sdk.Client that calls it (Client).
//
// The host serves each call's sdk.Target back to the plugin through
// go-plugin's GRPCBroker, the way Packer's provisioners reach the builder's
// communicator: one broker server per plugin connection, started on the
// first call that has a target. The host's local target (sdk/local) is not
// served: the plugin process runs on the same machine, so the reference
// says "local" and the plugin uses its own local target, a round trip less
// per command.
//
// A target's handle lives as long as the plugin connection, which is the
// run's: the host registers each sdk.Target value once, the first time a
// call carries it, and refers to it by the same handle in every later
// call; the plugin side keeps one sdk.Target per handle. So a plugin sees
// the same Target value in every step on a host and may keep state keyed
// on it (a Docker client over a connection it dialled, a database pool)
// from step to step; connections it dialled stay open across steps. The
// engine gives every step on one host the same Target value for this to
// hold (a target that cannot be a map key is served for its call only).
//
// Byte streams (a file's content, a dialled connection's data, a
// command's input and output) move in chunks of at most 32 KiB, one
// stream per file or connection, and HTTP/2's per-stream flow control
// holds a fast sender back: memory stays bounded by the windows whatever
// the size. Create publishes a file only on an explicit commit, so a
// plugin that dies or is cancelled mid-file leaves the old one.
//
// Every RunAction of a connection travels on one Run stream, opened by the
// first (runs.go): a step costs two messages and no stream setup, each
// call has its own cancellation and its own flow-control window.
//
// Values cross the wire as msgpack with their type (DynamicValue). Marks
// cannot be encoded: every marked path travels beside its value as a
// sensitive path and is marked with sdk.Sensitive on the other side.
//
// This package knows nothing of processes: starting, discovering and
// locking plugins is package plugins' job, and sdk/plugin serves a plugin
// binary's main.
package rpc
