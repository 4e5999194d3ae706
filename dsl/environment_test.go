package dsl

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestDeepMerge(t *testing.T) {
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	str := cty.StringVal
	tests := map[string]struct {
		base, over, want cty.Value
	}{
		"scalar replaces": {base: str("a"), over: str("b"), want: str("b")},
		"object over scalar": {
			base: str("a"),
			over: obj(map[string]cty.Value{"x": str("1")}),
			want: obj(map[string]cty.Value{"x": str("1")}),
		},
		"nested objects merge": {
			base: obj(map[string]cty.Value{"db": obj(map[string]cty.Value{"host": str("h"), "port": cty.NumberIntVal(1)})}),
			over: obj(map[string]cty.Value{"db": obj(map[string]cty.Value{"port": cty.NumberIntVal(2)})}),
			want: obj(map[string]cty.Value{"db": obj(map[string]cty.Value{"host": str("h"), "port": cty.NumberIntVal(2)})}),
		},
		"lists replace": {
			base: obj(map[string]cty.Value{"l": cty.ListVal([]cty.Value{str("a"), str("b")})}),
			over: obj(map[string]cty.Value{"l": cty.ListVal([]cty.Value{str("c")})}),
			want: obj(map[string]cty.Value{"l": cty.ListVal([]cty.Value{str("c")})}),
		},
		"map merges with object": {
			base: cty.MapVal(map[string]cty.Value{"a": str("1"), "b": str("2")}),
			over: obj(map[string]cty.Value{"b": cty.NumberIntVal(3)}),
			want: obj(map[string]cty.Value{"a": str("1"), "b": cty.NumberIntVal(3)}),
		},
		"null replaces": {
			base: obj(map[string]cty.Value{"a": str("1")}),
			over: cty.NullVal(cty.DynamicPseudoType),
			want: cty.NullVal(cty.DynamicPseudoType),
		},
		"empty object keeps base": {
			base: obj(map[string]cty.Value{"a": str("1")}),
			over: cty.EmptyObjectVal,
			want: obj(map[string]cty.Value{"a": str("1")}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := DeepMerge(tc.base, tc.over); !got.RawEquals(tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestEnvironmentChain(t *testing.T) {
	src := `
environment "base" {
  region = "eu"
  db     = { host = "localhost", port = 5432, opts = { ssl = false, pool = 5 } }
  tags   = ["base"]
}
environment "stage" {
  extends = "base"
  db      = { host = "stage-db", opts = { ssl = true } }
  tags    = ["stage", "extra"]
}
environment "prod" {
  extends     = "stage"
  description = "Production"
  db          = { opts = { pool = 50 } }
}
`
	cfg, diags := NewParser().LoadFile("envs.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	tests := map[string]struct {
		env, value string
		want       cty.Value
	}{
		"inherited two levels": {env: "prod", value: "region", want: cty.StringVal("eu")},
		"nested merge over three levels": {env: "prod", value: "db", want: obj(map[string]cty.Value{
			"host": cty.StringVal("stage-db"),
			"port": cty.NumberIntVal(5432),
			"opts": obj(map[string]cty.Value{"ssl": cty.True, "pool": cty.NumberIntVal(50)}),
		})},
		"list replaced and inherited": {env: "prod", value: "tags", want: cty.TupleVal([]cty.Value{cty.StringVal("stage"), cty.StringVal("extra")})},
		"parent untouched": {env: "base", value: "db", want: obj(map[string]cty.Value{
			"host": cty.StringVal("localhost"),
			"port": cty.NumberIntVal(5432),
			"opts": obj(map[string]cty.Value{"ssl": cty.False, "pool": cty.NumberIntVal(5)}),
		})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := cfg.Environments[tc.env]
			if env == nil {
				t.Fatalf("environment %s missing", tc.env)
			}
			if got := env.Values[tc.value]; !got.RawEquals(tc.want) {
				t.Errorf("%s.%s = %#v, want %#v", tc.env, tc.value, got, tc.want)
			}
		})
	}
	if p := cfg.Environments["prod"]; p.Extends != "stage" || p.Description != "Production" {
		t.Errorf("prod = %+v", p)
	}
}
