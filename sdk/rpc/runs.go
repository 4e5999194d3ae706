package rpc

import (
	"google.golang.org/protobuf/proto"

	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// The Run stream (zrunplugin.proto, message Run) carries every RunAction
// of a connection: runMux is the host's end, runServer the plugin's. A
// step costs two messages on a stream opened once, instead of a stream's
// setup and teardown of its own.

// runWindow is how many bytes of a call's events the plugin may have
// unacknowledged: what the host buffers for a call at most.
const runWindow = 256 << 10

// eventCost is what an event counts against its call's window: its size
// on the wire and 64 bytes, so that a flood of empty events counts too.
func eventCost(ev *pb.RunAction_Event) int64 {
	return int64(proto.Size(ev)) + 64
}

// final reports whether resp ends its call.
func final(resp *pb.Run_Response) bool {
	return resp.GetError() != nil || resp.GetEvent().GetResult() != nil
}
