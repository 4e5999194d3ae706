package dsl

import (
	"strings"
	"testing"
)

func TestEnvironmentProtected(t *testing.T) {
	src := `
environment "base" {}
environment "prod" {
  protected = true
  region    = "eu"
}
environment "prod-eu" { extends = "prod" }
environment "prod-copy" {
  extends   = "prod-eu"
  protected = false
}
environment "prod-copy-child" { extends = "prod-copy" }
environment "stage" { extends = "base" }
`
	cfg, diags := NewParser().LoadFile("envs.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := map[string]bool{
		"base":            false, // unset
		"prod":            true,  // its own
		"prod-eu":         true,  // inherited
		"prod-copy":       false, // overridden
		"prod-copy-child": false, // the nearest setting wins
		"stage":           false,
	}
	for name, w := range want {
		if got := cfg.Environments[name].Protected(); got != w {
			t.Errorf("%s: Protected() = %v, want %v", name, got, w)
		}
	}
	if r, ok := cfg.Environments["prod-eu"].ProtectedRange(); !ok || r.Start.Line != 4 {
		t.Errorf("prod-eu's protection is at %v, want prod's protected = true (line 4)", r)
	}
	if _, ok := cfg.Environments["base"].ProtectedRange(); ok {
		t.Error("base has a protection range")
	}
	if _, ok := cfg.Environments["prod"].Value("protected"); ok {
		t.Error("protected is also an environment value")
	}
}

func TestEnvironmentProtectedInvalid(t *testing.T) {
	tests := map[string]string{
		"not a bool":  `environment "prod" { protected = "maybe" }`,
		"a reference": `environment "prod" { protected = env.x }`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := NewParser().LoadFile("envs.hcl", []byte(src))
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			if s := diags[0].Subject; s == nil || s.Start.Line != 1 || !strings.Contains(s.Filename, "envs.hcl") {
				t.Errorf("diagnostic not located: %v", diags)
			}
		})
	}
}
