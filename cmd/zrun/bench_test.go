package main

import (
	"path/filepath"
	"testing"

	"github.com/zrun-dev/zrun/plugins"
)

// BenchmarkColdStart measures a plugin's cold start, from starting its
// process to its first answered call (GetSchema), for a builtin (the zrun
// binary in plugin mode) and for a third-party plugin built with the SDK
// (testdata/plugins/zrun-plugin-greet). Closing the process is not timed.
func BenchmarkColdStart(b *testing.B) {
	for _, tc := range []struct {
		name, plugin string
		opts         plugins.Options
	}{
		{"builtin-http", "http", plugins.Options{Builtins: builtins, SelfExe: zrunBin}},
		{"external-greet", "greet", plugins.Options{SearchDirs: []string{filepath.Dir(greetBin)}, Unlocked: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				m := plugins.NewManager(tc.opts)
				c, err := m.Client(b.Context(), tc.plugin)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.GetSchema(b.Context()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				m.Close()
				b.StartTimer()
			}
		})
	}
}
