package rpc_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

func TestValidateKey(t *testing.T) {
	obj := func(v cty.Value) cty.Value { return cty.ObjectVal(map[string]cty.Value{"a": v}) }
	key := func(action string, args cty.Value) (string, bool) {
		t.Helper()
		k, ok, err := rpc.ValidateKey(&sdk.ValidateRequest{Action: action, Args: args})
		if err != nil {
			t.Fatal(err)
		}
		return k, ok
	}
	k1, ok1 := key("run", obj(cty.StringVal("x")))
	k2, ok2 := key("run", obj(cty.StringVal("x")))
	if !ok1 || !ok2 || k1 != k2 {
		t.Fatalf("equal calls: %q (%v) and %q (%v)", k1, ok1, k2, ok2)
	}
	for name, args := range map[string]cty.Value{
		"other value": obj(cty.StringVal("y")),
		"other type":  obj(cty.ListVal([]cty.Value{cty.StringVal("x")})),
		"unknown":     obj(cty.UnknownVal(cty.String)),
	} {
		if k, ok := key("run", args); !ok || k == k1 {
			t.Errorf("%s: key %q, ok %v: want a different key", name, k, ok)
		}
	}
	if k, _ := key("check", obj(cty.StringVal("x"))); k == k1 {
		t.Error("another action gives the same key")
	}
	secret := cty.StringVal("hunter2").Mark(sdk.Sensitive)
	for name, args := range map[string]cty.Value{
		"known secret":     obj(secret),
		"secret in a list": obj(cty.ListVal([]cty.Value{cty.StringVal("x"), secret})),
		"marked object":    obj(cty.StringVal("x")).Mark(sdk.Sensitive),
	} {
		if k, ok := key("run", args); ok {
			t.Errorf("%s: kept as %q; a known secret must not be", name, k)
		}
	}
	unknownSecret := obj(cty.UnknownVal(cty.String).Mark(sdk.Sensitive))
	k, ok := key("run", unknownSecret)
	if diff := cmp.Diff([]any{true, false}, []any{ok, k == ""}); diff != "" {
		t.Errorf("an unknown secret reveals nothing and may be kept: ok %v, key %q", ok, k)
	}
}

func TestAnswersRoundTrip(t *testing.T) {
	d := sdk.Diagnostics{}.Errorf(cty.GetAttrPath("a").IndexInt(2), "Bad", "detail")
	b, err := rpc.MarshalDiagnostics(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rpc.UnmarshalDiagnostics(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Summary != "Bad" || got[0].Detail != "detail" || !got[0].Path.Equals(d[0].Path) {
		t.Errorf("diagnostics: got %#v", got)
	}
	if _, err := rpc.UnmarshalSchema([]byte("not a schema")); err == nil {
		t.Error("UnmarshalSchema accepted garbage")
	}
}
