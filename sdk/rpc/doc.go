// Package rpc carries the sdk contract over the wire: the gRPC service of
// sdk/proto/zrunplugin/v1 served by a plugin process (GRPCPlugin's server
// side, wrapping an sdk.Client such as sdk.InProcess) and the host's
// sdk.Client that calls it (Client).
//
// The host serves each call's sdk.Target back to the plugin through
// go-plugin's GRPCBroker, the way Packer's provisioners reach the builder's
// communicator: one broker server per plugin connection, started on the
// first call that has a target, with one handle per call. The host's local
// target (sdk/local) is not served: the plugin process runs on the same
// machine, so the reference says "local" and the plugin uses its own
// local target, a round trip less per command.
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
