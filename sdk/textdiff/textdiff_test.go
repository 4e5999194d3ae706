package textdiff

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnified(t *testing.T) {
	for name, tc := range map[string]struct{ old, new, want string }{
		"same":                   {"a\nb\n", "a\nb\n", ""},
		"only the last line end": {"a\nb", "a\nb\n", ""},
		"new file":               {"", "a\n", "--- /dev/null\n+++ f (new)\n@@ -0,0 +1 @@\n+a"},
		"changed line":           {"a\nb\nc\n", "a\nB\nc\n", "--- /dev/null\n+++ f (new)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c"},
	} {
		got, err := Unified(tc.old, tc.new, "/dev/null", "f (new)")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
