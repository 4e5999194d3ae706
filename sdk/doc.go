// Package sdk is what a zrun plugin author sees, and the only part of zrun
// with a compatibility promise.
//
// A plugin is one process serving many actions. Each action declares its
// typed arguments and outputs (a schema) and implements Run. The simplest
// way to write one is NewAction with a Go struct for the arguments and
// another for the outputs:
//
//	type GreetArgs struct {
//		Name string `zrun:"name" help:"Who to greet."`
//	}
//	type GreetOut struct {
//		Message string `zrun:"message"`
//	}
//
//	func main() {
//		plugin.Serve(&sdk.Plugin{
//			Name: "greet", Version: "0.1.0",
//			Actions: []sdk.Action{
//				sdk.NewAction("hello", "Say hello.", func(ctx context.Context, a GreetArgs, ui sdk.UI) (GreetOut, error) {
//					ui.Logf("greeting %s", a.Name)
//					return GreetOut{Message: "hello " + a.Name}, nil
//				}),
//			},
//		})
//	}
//
// Compatibility promise: within major version 1 of the wire protocol
// (sdk/proto/zrunplugin/v1) and of this package, exported identifiers are
// not removed or changed incompatibly; request and response structs only
// gain fields, whose zero value keeps the old behaviour. A plugin built
// against an older 1.x SDK keeps working with a newer zrun. Packages
// outside sdk/... carry no promise and a plugin must not import them;
// building a plugin needs none of the engine's dependencies.
//
// The promise starts with zrun's first release: until then (0.1.0-dev)
// both the wire and this package may change. They have once: the
// handshake's protocol version (rpc.ProtocolVersion) is 2 since output
// became bytes, every action call of a connection shares one Run stream,
// and Target streams files (Open, Create) and half-closes connections
// instead of moving whole files in one message. A plugin built before is
// refused at the handshake, with go-plugin's message naming both
// versions, rather than failing mid-run; rebuild it against this SDK.
// The .proto package keeps its name zrunplugin.v1 until the release.
package sdk
