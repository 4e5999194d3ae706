package ssh

import (
	"strings"
	"testing"
)

func TestPrefixWriter(t *testing.T) {
	var out strings.Builder
	w := &prefixWriter{w: &out, prefix: []byte("[h] ")}
	for _, chunk := range []string{"a", "b\nc", "\n", "\n", "d\ne\n", ""} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if want := "[h] ab\n[h] c\n[h] \n[h] d\n[h] e\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
