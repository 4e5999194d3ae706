package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEDiagnostic checks that README's sample diagnostic is what
// zrun prints for the project in testdata/readmediag, byte for byte.
func TestREADMEDiagnostic(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Validation\n.*?```\n(Error: .*?)```").FindSubmatch(src)
	if m == nil {
		t.Fatal("README.md's Validation section has no sample diagnostic")
	}
	r := zrunIn(t, project(t, "readmediag"), nil, "validate")
	wantCode(t, r, 3)
	if got := strings.TrimSpace(r.stderr); got != strings.TrimSpace(string(m[1])) {
		t.Errorf("README shows\n%s\nzrun prints\n%s", m[1], got)
	}
}
