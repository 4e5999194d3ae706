package ssh

import (
	"strings"
	"testing"
)

func TestCapture(t *testing.T) {
	tests := map[string]struct {
		limit     int
		writes    []string
		wantValue string
		wantTail  string
	}{
		"under the limit":  {limit: 100, writes: []string{"a\n", "b\nc\n"}, wantValue: "a\nb\nc", wantTail: "b\nc"},
		"crlf":             {limit: 100, writes: []string{"a\r\n"}, wantValue: "a", wantTail: "a"},
		"over the limit":   {limit: 4, writes: []string{"0123", "45\n", "x\ny\n"}, wantValue: "0123", wantTail: "x\ny"},
		"zero limit":       {limit: 0, writes: []string{"a\n", "b\n"}, wantValue: "", wantTail: "a\nb"},
		"huge write":       {limit: 1, writes: []string{strings.Repeat("z", 3*tailSize) + "\nend"}, wantValue: "z", wantTail: strings.Repeat("z", tailSize-4) + "\nend"},
		"ring wraps":       {limit: 1, writes: []string{strings.Repeat("a", tailSize-2), "\nb\n", "c\n", "d"}, wantValue: "a", wantTail: "c\nd"},
		"invalid UTF-8":    {limit: 100, writes: []string{"caf\xe9"}, wantValue: "caf\uFFFD", wantTail: "caf\uFFFD"},
		"many small lines": {limit: 2, writes: strings.Split(strings.Repeat("line\n", 3000), "x"), wantValue: "li", wantTail: "line\nline"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newCapture(tc.limit)
			for _, w := range tc.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := c.value(); got != tc.wantValue {
				t.Errorf("value() = %q, want %q", got, tc.wantValue)
			}
			if got := c.tail(2); got != tc.wantTail {
				t.Errorf("tail(2) = %q, want %q", got, tc.wantTail)
			}
			if len(c.ring) > tailSize || len(c.head) > tc.limit {
				t.Errorf("holds %d + %d bytes", len(c.head), len(c.ring))
			}
		})
	}
}

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
