package plugins_test

import (
	"io"
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
// process: "roundtrip" is a bare call; "target-callback" also calls back
// into the host's target through the broker; "target-exec" runs `true`
// on the local target, as every local exec.run step does (the plugin
// spawns it), beside BenchmarkLocalExec, the same command spawned
// directly: their difference is what the plugin path costs;
// "target-exec-callback" runs it through the broker, as a target zrun
// serves (a remote host) would.
func BenchmarkRunAction(b *testing.B) {
	m := newManager(b, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(b, m, "alpha")
	file := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	target := local.Target()
	served := servedTarget{target} // not local: zrun serves it
	for _, tc := range []struct {
		name, action string
		args         cty.Value
		target       sdk.Target
	}{
		{"roundtrip", "pid", cty.EmptyObjectVal, target},
		{"target-callback", "read", cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal(file)}), served},
		{"target-exec", "true", cty.EmptyObjectVal, target},
		{"target-exec-callback", "true", cty.EmptyObjectVal, served},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.RunAction(b.Context(), tc.action, &sdk.RunRequest{Args: tc.args, Target: tc.target, UI: sdktest.NewUI(tc.target, sdk.RunInfo{})})
				if err != nil || resp.Diagnostics.HasErrors() {
					b.Fatal(err, resp.Diagnostics.Err())
				}
			}
		})
	}
}

// BenchmarkRunActionParallel measures bare calls made concurrently, as a
// run's independent steps make them: they share the plugin connection's
// one Run stream.
func BenchmarkRunActionParallel(b *testing.B) {
	m := newManager(b, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(b, m, "alpha")
	target := local.Target()
	b.SetParallelism(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.RunAction(b.Context(), "pid", &sdk.RunRequest{Args: cty.EmptyObjectVal, Target: target, UI: sdktest.NewUI(target, sdk.RunInfo{})})
			if err != nil || resp.Diagnostics.HasErrors() {
				b.Fatal(err, resp.Diagnostics.Err())
			}
		}
	})
}

func BenchmarkLocalExec(b *testing.B) {
	target := local.Target()
	for b.Loop() {
		if _, err := target.Exec(b.Context(), &sdk.Command{Args: []string{"true"}, Stdout: io.Discard, Stderr: io.Discard}); err != nil {
			b.Fatal(err)
		}
	}
}

// servedTarget hides that a target is local, so zrun serves it to the
// plugin through the broker.
type servedTarget struct{ sdk.Target }
