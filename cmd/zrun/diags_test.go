package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
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

func TestPrintDiagsBounded(t *testing.T) {
	var diags hcl.Diagnostics
	for range maxShown + 5 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Attribute redefined"})
	}
	var stderr bytes.Buffer
	newApp(&bytes.Buffer{}, &stderr).printDiagFiles(nil, diags)
	if n := strings.Count(stderr.String(), "Error: "); n != maxShown {
		t.Errorf("%d diagnostics printed, want %d", n, maxShown)
	}
	wantContains(t, "stderr", stderr.String(), "(5 more not shown: fix these first.)", "105 error(s)")
}
