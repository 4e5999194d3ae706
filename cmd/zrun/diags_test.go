package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWindow(t *testing.T) {
	long := strings.Repeat("a", 500) + "XYZ" + strings.Repeat("b", 500)
	tests := map[string]struct {
		line       string
		start, end int
		want       string // the window's text under the carets
	}{
		"short":  {"x = 1", 5, 6, "1"},
		"middle": {long, 501, 504, "XYZ"},
		"start":  {long, 1, 4, "aaa"},
		"end":    {long, 1001, 1004, "bbb"},
		"utf-8":  {strings.Repeat("é", 300) + "X", 301, 302, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, start, end := window(tc.line, tc.start, tc.end)
			if len(got) > maxSnippet+6 {
				t.Errorf("window of %d bytes", len(got))
			}
			if !utf8.ValidString(got) {
				t.Errorf("window cuts a character: %q", got)
			}
			if tc.want != "" && got[start-1:end-1] != tc.want {
				t.Errorf("carets under %q, want %q (in %q)", got[start-1:end-1], tc.want, got)
			}
		})
	}
}
