package rpc_test

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/rpc"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// FuzzUnmarshalSchema feeds arbitrary bytes to the schema decoder, which
// reads what a plugin answers and what the answer cache kept on disk:
// either a schema that passes its own checks comes back, or an error;
// never a panic.
func FuzzUnmarshalSchema(f *testing.F) {
	good, err := rpc.MarshalSchema(&schema.Plugin{Name: "greet", Version: "1.0.0", Actions: map[string]*schema.Action{
		"hello": {Name: "hello", Args: []*schema.Attribute{{Name: "name", Type: cty.List(cty.String), Required: true}},
			Outputs: []*schema.Attribute{{Name: "message", Type: cty.String}}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("\x0a\x05greet\x1a\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := rpc.UnmarshalSchema(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded an invalid schema: %s", err)
		}
		if _, err := rpc.MarshalSchema(s); err != nil {
			t.Fatalf("a decoded schema does not encode: %s", err)
		}
	})
}
