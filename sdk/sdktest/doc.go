// Package sdktest lets a plugin author test actions the way zrun runs
// them: in process (Run) or over the real gRPC wire (Run with OverGRPC, or
// GRPC for a raw sdk.Client), with a recording UI and an in-memory Target.
//
//	func TestHello(t *testing.T) {
//		res := sdktest.Run(t, greet.Plugin(), "hello",
//			map[string]cty.Value{"name": cty.StringVal("ops")}, sdktest.OverGRPC())
//		if res.Diagnostics.HasErrors() { t.Fatal(res.Diagnostics.Err()) }
//		if got := res.Outputs.GetAttr("message").AsString(); got != "hello ops" { ... }
//	}
//
// It imports only the SDK (sdk, sdk/rpc, sdk/plugin), so a third party's
// plugin module needs nothing else of zrun's.
package sdktest
