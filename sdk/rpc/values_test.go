package rpc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/msgpack"
)

func dynamicValues() map[string]cty.Value {
	wide := map[string]cty.Value{}
	for i := range 40 { // a type whose JSON needs bin 16
		wide[fmt.Sprintf("attribute_%02d", i)] = cty.StringVal("v")
	}
	return map[string]cty.Value{
		"string":         cty.StringVal("hello"),
		"number":         cty.NumberIntVal(1 << 40),
		"fraction":       cty.NumberFloatVal(0.25),
		"null string":    cty.NullVal(cty.String),
		"null dynamic":   cty.NullVal(cty.DynamicPseudoType),
		"unknown":        cty.UnknownVal(cty.String),
		"unknown any":    cty.DynamicVal,
		"empty object":   cty.EmptyObjectVal,
		"wide object":    cty.ObjectVal(wide),
		"long string":    cty.StringVal(strings.Repeat("x", 70000)),
		"list":           cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"set":            cty.SetVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
		"map":            cty.MapVal(map[string]cty.Value{"k": cty.True}),
		"tuple":          cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1)}),
		"nested unknown": cty.ObjectVal(map[string]cty.Value{"a": cty.DynamicVal, "b": cty.UnknownVal(cty.List(cty.String))}),
		"exec.run args": cty.ObjectVal(map[string]cty.Value{
			"command": cty.ListVal([]cty.Value{cty.StringVal("/bin/true")}), "script": cty.NullVal(cty.String),
			"env": cty.NullVal(cty.Map(cty.String)), "capture_limit": cty.NullVal(cty.Number),
		}),
	}
}

// TestDynamicValueCompatible: the cached encoding and cty's read each
// other, so either side may be an older build.
func TestDynamicValueCompatible(t *testing.T) {
	for name, v := range dynamicValues() {
		t.Run(name, func(t *testing.T) {
			for range 2 { // the second time from the cache
				ours, err := marshalDynamic(v)
				if err != nil {
					t.Fatal(err)
				}
				theirs, err := msgpack.Marshal(v, cty.DynamicPseudoType)
				if err != nil {
					t.Fatal(err)
				}
				for what, b := range map[string][]byte{"ours": ours, "cty's": theirs} {
					got, err := unmarshalDynamic(b)
					if err != nil {
						t.Fatalf("unmarshalDynamic(%s): %s", what, err)
					}
					if !got.RawEquals(v) {
						t.Errorf("unmarshalDynamic(%s) = %#v, want %#v", what, got, v)
					}
				}
				got, err := msgpack.Unmarshal(ours, cty.DynamicPseudoType)
				if err != nil {
					t.Fatalf("msgpack.Unmarshal(ours): %s", err)
				}
				if !got.RawEquals(v) {
					t.Errorf("msgpack.Unmarshal(ours) = %#v, want %#v", got, v)
				}
			}
		})
	}
}

// TestTypeCacheBounded: more distinct types than the cache holds still
// encode and decode, and the cache stays at its size.
func TestTypeCacheBounded(t *testing.T) {
	for i := range 3 * typeCacheSize {
		v := cty.ObjectVal(map[string]cty.Value{fmt.Sprintf("a%d", i): cty.True})
		b, err := marshalDynamic(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := unmarshalDynamic(b)
		if err != nil || !got.RawEquals(v) {
			t.Fatalf("round trip of %#v: %#v, %v", v, got, err)
		}
	}
	types.mu.Lock()
	defer types.mu.Unlock()
	if len(types.encoded) > typeCacheSize || len(types.parsed) > typeCacheSize {
		t.Errorf("cache holds %d and %d types, want at most %d", len(types.encoded), len(types.parsed), typeCacheSize)
	}
}

// FuzzUnmarshalDynamic: whatever a peer sends, the cached decoding never
// panics and agrees with cty's.
func FuzzUnmarshalDynamic(f *testing.F) {
	for _, v := range dynamicValues() {
		b, _ := marshalDynamic(v)
		f.Add(b)
	}
	f.Add([]byte{0x92, 0xc4, 0xff})
	f.Add([]byte{0x92, 0xa6, '"', 's', 't', 'r', 'i', 'n'})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unmarshalDynamic(b)
		want, wantErr := msgpack.Unmarshal(b, cty.DynamicPseudoType)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("unmarshalDynamic: %v; cty: %v", err, wantErr)
		}
		if err == nil && !got.RawEquals(want) {
			t.Fatalf("unmarshalDynamic = %#v; cty: %#v", got, want)
		}
	})
}

func BenchmarkDynamicValue(b *testing.B) {
	v := dynamicValues()["exec.run args"]
	b.Run("cty", func(b *testing.B) {
		for b.Loop() {
			enc, _ := msgpack.Marshal(v, cty.DynamicPseudoType)
			_, _ = msgpack.Unmarshal(enc, cty.DynamicPseudoType)
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			enc, _ := marshalDynamic(v)
			_, _ = unmarshalDynamic(enc)
		}
	})
}
