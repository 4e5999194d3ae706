package dsl

import (
	"fmt"
	"runtime"
	"strings"
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
			if got, _ := env.Value(tc.value); !got.RawEquals(tc.want) {
				t.Errorf("%s.%s = %#v, want %#v", tc.env, tc.value, got, tc.want)
			}
		})
	}
	if p := cfg.Environments["prod"]; p.Extends != "stage" || p.Description != "Production" {
		t.Errorf("prod = %+v", p)
	}
}

// chainSource declares n environments, each extending the one before and
// setting a value of its own and a part of a shared object.
func chainSource(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "environment \"e%d\" {\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "  extends = \"e%d\"\n", i-1)
		}
		fmt.Fprintf(&b, "  v%d = %d\n  all = { k%d = %d }\n}\n", i, i, i, i)
	}
	return []byte(b.String())
}

// TestLongChainIsLinear checks that resolving a chain of environments
// costs memory in proportion to its length, not to its square: copying
// each environment's chain into it cost 933 MB for 2,000 of them.
func TestLongChainIsLinear(t *testing.T) {
	cost := func(n int) (uint64, *Config) {
		src := chainSource(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cfg, diags := NewParser().LoadFile("chain.hcl", src)
		runtime.ReadMemStats(&after)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return after.TotalAlloc - before.TotalAlloc, cfg
	}
	small, _ := cost(2500)
	large, cfg := cost(5000)
	if ratio := float64(large) / float64(small); ratio > 2.5 {
		t.Errorf("5,000 environments cost %.1fx what 2,500 do (%d MB): want at most 2.5x", ratio, large>>20)
	}
	last := cfg.Environments["e4999"]
	if v, ok := last.Value("v0"); !ok || !v.RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("e4999.v0 = %#v", v)
	}
	if all, _ := last.Value("all"); all.LengthInt() != 5000 {
		t.Errorf("e4999.all has %d keys, want 5000", all.LengthInt())
	}
	if n := len(cfg.Environments["e9"].Values()); n != 11 {
		t.Errorf("e9 has %d values, want 11 (v0..v9 and all)", n)
	}
}

// TestCycleEnds checks that the environments of an inheritance cycle can
// still be read: the cycle is an error, not an endless loop.
func TestCycleEnds(t *testing.T) {
	cfg, diags := loadFixture(t, "testdata/invalid/extends_cycle.hcl")
	if !diags.HasErrors() {
		t.Fatal("want the cycle reported")
	}
	for name, env := range cfg.Environments {
		if len(env.chain()) > len(cfg.Environments) {
			t.Errorf("%s: chain of %d", name, len(env.chain()))
		}
		env.Values()
	}
}

func TestMergeAllIsAFold(t *testing.T) {
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	layers := []cty.Value{
		obj(map[string]cty.Value{"a": cty.StringVal("1"), "o": obj(map[string]cty.Value{"x": cty.True})}),
		cty.StringVal("scalar"),
		obj(map[string]cty.Value{"b": cty.StringVal("2")}),
		obj(map[string]cty.Value{"o": obj(map[string]cty.Value{"y": cty.False}), "b": cty.StringVal("3")}),
	}
	for n := 1; n <= len(layers); n++ {
		want := layers[0]
		for _, l := range layers[1:n] {
			want = DeepMerge(want, l)
		}
		if n == len(layers) && !want.RawEquals(obj(map[string]cty.Value{"b": cty.StringVal("3"), "o": obj(map[string]cty.Value{"y": cty.False})})) {
			t.Fatalf("the scalar layer should replace what is under it: %#v", want)
		}
		if got := mergeAll(layers[:n]); !got.RawEquals(want) {
			t.Errorf("%d layers: got %#v, want %#v", n, got, want)
		}
	}
}

func TestUnknownParentSuggests(t *testing.T) {
	_, diags := loadFixture(t, "testdata/invalid/extends_unknown.hcl")
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, `Did you mean "dev"?`) {
		t.Errorf("got %v", diags)
	}
}
