package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEExamples keeps the language reference honest: every HCL block
// in README.md must load without a diagnostic, as a project file or, when
// its first line names a .zrunparams file, as a params file.
func TestREADMEExamples(t *testing.T) {
	t.Setenv("ZRUN_LEDGER_DSN", "postgres://zrun@db.internal/zrun") // README reads it with env()
	src, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```hcl\n(.*?)```").FindAllSubmatch(src, -1)
	if len(blocks) < 4 {
		t.Fatalf("found only %d hcl blocks in README.md", len(blocks))
	}
	for i, b := range blocks {
		name := fmt.Sprintf("README-%d.hcl", i+1)
		t.Run(name, func(t *testing.T) {
			if first, _, _ := strings.Cut(string(b[1]), "\n"); strings.HasSuffix(first, ".zrunparams") {
				path := filepath.Join(t.TempDir(), name)
				if err := os.WriteFile(path, b[1], 0o644); err != nil {
					t.Fatal(err)
				}
				if pf, diags := LoadParamsFile(path); diags.HasErrors() || len(pf.Values) == 0 {
					t.Errorf("params file: %d values, %s", len(pf.Values), diags.Error())
				}
				return
			}
			_, diags := NewParser().LoadFile(name, b[1])
			if diags.HasErrors() {
				t.Errorf("%s", diags.Error())
			}
		})
	}
}
