package sdktest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

type greetArgs struct {
	Name  string  `zrun:"name" help:"Who to greet."`
	Greet *string `zrun:"greeting"`
}

type greetOut struct {
	Message string `zrun:"message"`
	Motd    string `zrun:"motd"`
}

func greet() *sdk.Plugin {
	return &sdk.Plugin{Name: "greet", Version: "0.1.0", Actions: []sdk.Action{
		sdk.NewAction("hello", "Say hello.", func(ctx context.Context, a greetArgs, ui sdk.UI) (greetOut, error) {
			if a.Name == "" {
				return greetOut{}, fmt.Errorf("nobody to greet")
			}
			greeting := "hello"
			if a.Greet != nil {
				greeting = *a.Greet
			}
			ui.Logf("greeting %s on %s", a.Name, ui.Target().Name())
			fmt.Fprintln(ui.Stdout(), "stdout line")
			ui.Progress(1, 1, "greeted")
			motd, _ := ui.Target().ReadFile(ctx, "/etc/motd")
			return greetOut{Message: greeting + " " + a.Name, Motd: string(motd)}, nil
		}),
	}}
}

func TestRun(t *testing.T) {
	target := &sdktest.Target{TargetName: "web1", Files: map[string][]byte{"/etc/motd": []byte("welcome")}}
	tests := map[string]struct {
		args      any
		want      cty.Value
		wantDiags string
		wantLogs  []string
	}{
		"defaults": {
			args:     map[string]cty.Value{"name": cty.StringVal("ops")},
			want:     cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("hello ops"), "motd": cty.StringVal("welcome")}),
			wantLogs: []string{"greeting ops on web1"},
		},
		"optional set": {
			args:     cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("ops"), "greeting": cty.StringVal("hi")}),
			want:     cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("hi ops"), "motd": cty.StringVal("welcome")}),
			wantLogs: []string{"greeting ops on web1"},
		},
		"action error": {
			args:      map[string]cty.Value{"name": cty.StringVal("")},
			want:      cty.NullVal(cty.Object(map[string]cty.Type{"message": cty.String, "motd": cty.String})),
			wantDiags: "Action failed: nobody to greet",
		},
	}
	for name, tc := range tests {
		for mode, opts := range map[string][]sdktest.Option{"in process": nil, "grpc": {sdktest.OverGRPC()}} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				res := sdktest.Run(t, greet(), "hello", tc.args, append(opts, sdktest.WithTarget(target))...)
				gotDiags := ""
				if err := res.Diagnostics.Err(); err != nil {
					gotDiags = err.Error()
				}
				if gotDiags != tc.wantDiags {
					t.Fatalf("diagnostics: got %q, want %q", gotDiags, tc.wantDiags)
				}
				if tc.wantDiags != "" {
					return
				}
				if !res.Outputs.RawEquals(tc.want) {
					t.Errorf("outputs: got %#v, want %#v", res.Outputs, tc.want)
				}
				want := sdktest.Record{Logs: tc.wantLogs, Stdout: "stdout line\n", Progress: []sdktest.Progress{{Done: 1, Total: 1, Message: "greeted"}}}
				if diff := cmp.Diff(want, res.Record); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestGRPCSchema(t *testing.T) {
	s, err := sdktest.GRPC(t, greet()).GetSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ActionNames(); !cmp.Equal(got, []string{"hello"}) || s.Version != "0.1.0" {
		t.Errorf("schema: version %q actions %v", s.Version, got)
	}
	if a := s.Actions["hello"].Arg("name"); a == nil || !a.Required || a.Description != "Who to greet." {
		t.Errorf("argument name: %#v", a)
	}
}
