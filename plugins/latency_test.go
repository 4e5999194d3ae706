package plugins_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// BenchmarkRunAction measures one action call through a running plugin
// process: "pid" is a bare round trip; "read" also calls back into the
// host's target through the broker, as every exec.run step does.
func BenchmarkRunAction(b *testing.B) {
	m := newManager(b, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(b, m, "alpha")
	file := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	target := local.Target()
	for _, tc := range []struct {
		name, action string
		args         cty.Value
	}{
		{"roundtrip", "pid", cty.EmptyObjectVal},
		{"target-callback", "read", cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal(file)})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := c.RunAction(b.Context(), tc.action, &sdk.RunRequest{Args: tc.args, Target: target, UI: sdktest.NewUI(target, sdk.RunInfo{})})
				if err != nil || resp.Diagnostics.HasErrors() {
					b.Fatal(err, resp.Diagnostics.Err())
				}
			}
		})
	}
}
