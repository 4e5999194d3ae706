package plugins_test

import (
	"strings"
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
		// Deep and long inputs, which mutations of small ones never reach.
		"plugin \"a\" {\n  version = " + strings.Repeat("[", 5000) + "\n}\n",
		"plugin \"a\" {\n  version = " + strings.Repeat("(", 40) + "1" + strings.Repeat(")", 40) + "\n}\n",
		"plugin \"a\" {\n  version = " + strings.Repeat(`"${`, 2000) + "\n}\n",
		"plugin \"a\" {\n  version = " + strings.Repeat("-", 5000) + "1\n}\n",
		"plugin \"a\" {\n  version = " + strings.Repeat("1 + ", 5000) + "1\n}\n",
		strings.Repeat("plugin \"p\" {\n  version = \"1.0.0\"\n  sha256  = \"00\"\n}\n", 2000),
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
