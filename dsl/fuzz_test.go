package dsl

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadFile checks that no input makes the parser panic.
func FuzzLoadFile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	more, _ := filepath.Glob("testdata/project/*/*.hcl")
	for _, path := range append(seeds, more...) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, _ := NewParser().LoadFile(filepath.Join(dir, "fuzz.hcl"), src)
		if cfg == nil {
			t.Fatal("nil config")
		}
	})
}
