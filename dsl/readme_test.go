package dsl

import (
	"fmt"
	"os"
	"regexp"
	"testing"
)

// TestREADMEExamples keeps the language reference honest: every HCL block
// in README.md must load without a diagnostic.
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
			_, diags := NewParser().LoadFile(name, b[1])
			if diags.HasErrors() {
				t.Errorf("%s", diags.Error())
			}
		})
	}
}
