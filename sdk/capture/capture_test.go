package capture

import (
	"strings"
	"testing"
)

func TestBuffer(t *testing.T) {
	tests := map[string]struct {
		limit     int
		writes    []string
		wantStr   string
		wantLast2 string
		truncated bool
	}{
		"under the limit":  {limit: 100, writes: []string{"a\n", "b\nc\n"}, wantStr: "a\nb\nc", wantLast2: "b\nc"},
		"crlf":             {limit: 100, writes: []string{"a\r\n"}, wantStr: "a", wantLast2: "a"},
		"over the limit":   {limit: 4, writes: []string{"0123", "45\n", "x\ny\n"}, wantStr: "0123", wantLast2: "x\ny", truncated: true},
		"zero limit":       {limit: 0, writes: []string{"a\n", "b\n"}, wantStr: "", wantLast2: "a\nb", truncated: true},
		"huge write":       {limit: 1, writes: []string{strings.Repeat("z", 3*TailSize) + "\nend"}, wantStr: "z", wantLast2: strings.Repeat("z", TailSize-4) + "\nend", truncated: true},
		"ring wraps":       {limit: 1, writes: []string{strings.Repeat("a", TailSize-2), "\nb\n", "c\n", "d"}, wantStr: "a", wantLast2: "c\nd", truncated: true},
		"invalid UTF-8":    {limit: 100, writes: []string{"caf\xe9"}, wantStr: "caf\uFFFD", wantLast2: "caf\uFFFD"},
		"many small lines": {limit: 2, writes: strings.Split(strings.Repeat("line\n", 3000), "x"), wantStr: "li", wantLast2: "line\nline", truncated: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := New(tc.limit)
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := b.String(); got != tc.wantStr {
				t.Errorf("String() = %q, want %q", got, tc.wantStr)
			}
			if got := b.LastLines(2); got != tc.wantLast2 {
				t.Errorf("LastLines(2) = %q, want %q", got, tc.wantLast2)
			}
			if b.Truncated() != tc.truncated {
				t.Errorf("Truncated() = %v", b.Truncated())
			}
			if len(b.ring) > TailSize || len(b.head) > tc.limit {
				t.Errorf("holds %d + %d bytes", len(b.head), len(b.ring))
			}
		})
	}
}
