package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestREADMEWorkflowValidates validates README's workflow example against
// the real builtin plugins' schemas, in an environment that has the
// values it reads.
func TestREADMEWorkflowValidates(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```hcl\n(workflow \"deploy\".*?)```").FindSubmatch(src)
	if m == nil {
		t.Fatal("README.md has no deploy workflow example")
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("workflows/deploy.hcl", string(m[1]))
	write("environments/prod.hcl", `environment "prod" {
  app_dir     = "/opt/zakupai"
  webhook_url = "http://127.0.0.1:9/hook"
  services    = { gateway = { url = "http://127.0.0.1:8080" } }
}
`)
	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, 0)
}
