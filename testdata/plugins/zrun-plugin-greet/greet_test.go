package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

func TestHello(t *testing.T) {
	tests := map[string]struct {
		args    cty.Value
		want    string
		wantErr bool
	}{
		"plain": {
			args: cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("ops"), "shout": cty.NullVal(cty.Bool)}),
			want: "hello, ops",
		},
		"shout": {
			args: cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("ops"), "shout": cty.True}),
			want: "HELLO, OPS!",
		},
		"wrong type": {
			args:    cty.ObjectVal(map[string]cty.Value{"name": cty.True, "shout": cty.StringVal("loud")}),
			wantErr: true,
		},
	}
	client := sdk.InProcess(greetPlugin())
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ui := sdktest.NewUI(nil, sdk.RunInfo{})
			resp, err := client.RunAction(t.Context(), "hello", &sdk.RunRequest{Args: tc.args, UI: ui})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr {
				if !resp.Diagnostics.HasErrors() {
					t.Fatalf("no error; outputs %#v", resp.Outputs)
				}
				return
			}
			if err := resp.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			if got := resp.Outputs.GetAttr("message"); !got.RawEquals(cty.StringVal(tc.want)) {
				t.Errorf("message = %#v, want %q", got, tc.want)
			}
			if diff := cmp.Diff([]string{"greeting ops"}, ui.Record().Logs); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	s, err := sdk.InProcess(greetPlugin()).GetSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	hello := s.Actions["hello"]
	if hello == nil {
		t.Fatalf("no hello action in %v", s.ActionNames())
	}
	if a := hello.Arg("name"); a == nil || !a.Required || a.Type != cty.String {
		t.Errorf("name = %+v", a)
	}
	if a := hello.Arg("shout"); a == nil || a.Required || a.Type != cty.Bool {
		t.Errorf("shout = %+v", a)
	}
	if o := hello.Output("message"); o == nil || o.Type != cty.String {
		t.Errorf("message = %+v", o)
	}
}

// TestHelloOverGRPC is the test README shows plugin authors: the action
// through the real protocol, with plain Go values as arguments.
func TestHelloOverGRPC(t *testing.T) {
	res := sdktest.Run(t, greetPlugin(), "hello", map[string]any{"name": "ops", "shout": true}, sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs.GetAttr("message"); !got.RawEquals(cty.StringVal("HELLO, OPS!")) {
		t.Errorf("message = %#v", got)
	}
	if diff := cmp.Diff([]string{"greeting ops"}, res.Logs); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}
