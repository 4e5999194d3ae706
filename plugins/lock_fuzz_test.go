package plugins_test

import (
	"testing"

	"github.com/zrun-dev/zrun/plugins"
)

// FuzzParseLock: a lock file is user-editable input; whatever it holds,
// parsing returns diagnostics, never a panic.
func FuzzParseLock(f *testing.F) {
	for _, seed := range []string{
		"plugin \"greet\" {\n  version = \"0.1.0\"\n  sha256  = \"00\"\n}\n",
		"plugin \"a\" {}\nplugin \"a\" {}\n",
		"plugin {",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		lf, diags := plugins.ParseLock("zrun.lock.hcl", src)
		if lf == nil && !diags.HasErrors() {
			t.Fatal("no lock file and no error")
		}
	})
}
