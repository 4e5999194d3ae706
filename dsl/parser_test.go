package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestLoadFileValid(t *testing.T) {
	paths, err := filepath.Glob("testdata/valid/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no valid fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, diags := loadFixture(t, path)
			for _, d := range diags {
				t.Errorf("unexpected diagnostic: %s", d)
			}
			if cfg == nil {
				t.Fatal("nil config")
			}
		})
	}
}

// errorComment is an expected diagnostic written in a fixture.
var errorComment = regexp.MustCompile(`# ERROR: ([^#]+)`)

func TestLoadFileInvalid(t *testing.T) {
	paths, err := filepath.Glob("testdata/invalid/*.hcl")
	if err != nil || len(paths) < 15 {
		t.Fatalf("want at least 15 invalid fixtures, got %d: %v", len(paths), err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i, line := range strings.Split(string(src), "\n") {
				for _, m := range errorComment.FindAllStringSubmatch(line, -1) {
					want = append(want, fmt.Sprintf("%d: %s", i+1, strings.TrimSpace(m[1])))
				}
			}
			if len(want) == 0 {
				t.Fatal("fixture has no # ERROR: comment")
			}
			cfg, diags := loadFixture(t, path)
			if cfg == nil {
				t.Fatal("nil config: want a partial config even with errors")
			}
			var got []string
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without a subject: %s", d)
					continue
				}
				got = append(got, fmt.Sprintf("%d: %s", d.Subject.Start.Line, d.Summary))
			}
			sort.Strings(want)
			sort.Strings(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall: %s", diff, diags)
			}
		})
	}
}

func loadFixture(t *testing.T, path string) (*Config, hcl.Diagnostics) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return NewParser().LoadFile(path, src)
}
