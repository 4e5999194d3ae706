package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/zrun-dev/zrun/dsl/funcs"
)

// runInProcess runs zrun's command line in this process.
func runInProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	root := newApp(&out, io.Discard).root()
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestFunctionsCommand: zrun functions lists every function with its
// signature and description, one per line; NAME describes one; an unknown
// NAME is a usage error that suggests the closest.
func TestFunctionsCommand(t *testing.T) {
	out, err := runInProcess(t, "functions")
	if err != nil {
		t.Fatal(err)
	}
	docs := funcs.Docs()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(docs) {
		t.Fatalf("%d lines for %d functions:\n%s", len(lines), len(docs), out)
	}
	for i, d := range docs {
		f := strings.Fields(lines[i])
		if f[0] != d.Name || !strings.Contains(lines[i], d.Signature) || !strings.HasSuffix(lines[i], d.Description) {
			t.Errorf("line %q does not describe %s as %q, %q", lines[i], d.Name, d.Signature, d.Description)
		}
	}

	out, err = runInProcess(t, "functions", "cidrsubnet")
	want := "cidrsubnet(prefix string, newbits number, netnum number) string\n"
	if err != nil || !strings.HasPrefix(out, want) || !strings.Contains(out, "subnet") {
		t.Errorf("zrun functions cidrsubnet: %q, %v", out, err)
	}

	_, err = runInProcess(t, "functions", "cidrsubnt")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(ee.msg, "Did you mean cidrsubnet?") {
		t.Errorf("zrun functions cidrsubnt: %v", err)
	}
}
