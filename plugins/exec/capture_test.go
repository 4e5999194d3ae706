package exec

import (
	"strings"
	"testing"
)

func TestCapture(t *testing.T) {
	tests := map[string]struct {
		limit     int
		writes    []string
		wantStr   string
		wantLast2 string
		truncated bool
	}{
		"under the limit": {
			limit: 100, writes: []string{"a\n", "b\nc\n"},
			wantStr: "a\nb\nc", wantLast2: "b\nc",
		},
		"crlf": {
			limit: 100, writes: []string{"a\r\n"},
			wantStr: "a", wantLast2: "a",
		},
		"over the limit keeps the head and the tail": {
			limit: 4, writes: []string{"0123", "45\n", "x\ny\n"},
			wantStr: "0123", wantLast2: "x\ny", truncated: true,
		},
		"huge write keeps the last tailSize bytes": {
			limit: 1, writes: []string{strings.Repeat("z", 3*tailSize) + "\nend"},
			wantStr: "z", wantLast2: strings.Repeat("z", tailSize-4) + "\nend", truncated: true,
		},
		"zero limit": {
			limit: 0, writes: []string{"a\n", "b\n"},
			wantStr: "", wantLast2: "a\nb", truncated: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := &capture{limit: tc.limit}
			for _, w := range tc.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := c.String(); got != tc.wantStr {
				t.Errorf("String() = %q, want %q", got, tc.wantStr)
			}
			if got := c.lastLines(2); got != tc.wantLast2 {
				t.Errorf("lastLines(2) = %q, want %q", got, tc.wantLast2)
			}
			if c.truncated() != tc.truncated {
				t.Errorf("truncated() = %v", c.truncated())
			}
			if len(c.tail) > tailSize {
				t.Errorf("tail holds %d bytes", len(c.tail))
			}
		})
	}
}
