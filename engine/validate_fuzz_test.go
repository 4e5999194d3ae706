package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/zrun-dev/zrun/dsl"
)

// FuzzValidatePartial checks that Validate never panics on the partial
// config of a project that did not load cleanly: zrun validate checks what
// loaded despite load errors.
func FuzzValidatePartial(f *testing.F) {
	for _, pattern := range []string{"../dsl/testdata/invalid/*.hcl", "../dsl/testdata/valid/*.hcl"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
			// The same with the mock plugin, to reach its schemas.
			f.Add(bytes.ReplaceAll(src, []byte("exec."), []byte("mock.")))
		}
	}
	f.Add([]byte("workflow \"w\" {\n  step \"a\" {\n    action = mock.echo\n    value = env.x\n  }\n  output \"o\" {\n  }\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, _ := dsl.NewParser().LoadFile(filepath.Join(dir, "fuzz.hcl"), src)
		if cfg == nil {
			t.Fatal("nil config")
		}
		New(Options{Config: cfg, Plugins: newMock()}).Validate(t.Context())
	})
}
