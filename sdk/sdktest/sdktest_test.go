package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
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
			var motd []byte
			if r, err := ui.Target().Open(ctx, "/etc/motd"); err == nil {
				motd, _ = io.ReadAll(r)
				_ = r.Close()
			}
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

// TestTargetFiles: the in-memory target keeps the file contract: Create
// publishes on Close only, missing paths match fs.ErrNotExist.
func TestTargetFiles(t *testing.T) {
	ctx := t.Context()
	tgt := &sdktest.Target{Files: map[string][]byte{"/etc/motd": []byte("old")}}
	w, err := tgt.Create(ctx, "/etc/motd", &sdk.CreateOptions{Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, "new")
	if data, _ := tgt.File("/etc/motd"); string(data) != "old" {
		t.Errorf("before Close: %q, want the old content", data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := tgt.Stat(ctx, "/etc/motd"); err != nil || fi.Size != 3 || fi.Mode != 0o600 {
		t.Errorf("Stat = %+v, %v", fi, err)
	}
	w, _ = tgt.Create(ctx, "/etc/motd", nil)
	_, _ = io.WriteString(w, "aborted")
	_ = w.Abort()
	if data, _ := tgt.File("/etc/motd"); string(data) != "new" {
		t.Errorf("after Abort: %q, want the content before", data)
	}

	if err := tgt.MkdirAll(ctx, "/srv/app/conf", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tgt.Rename(ctx, "/etc/motd", "/srv/motd"); err != nil {
		t.Fatal(err)
	}
	list, err := tgt.ReadDir(ctx, "/srv")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range list {
		names = append(names, fmt.Sprintf("%s %v", fi.Name, fi.IsDir()))
	}
	if got := strings.Join(names, ", "); got != "app true, motd false" {
		t.Errorf("ReadDir = %s", got)
	}
	if err := tgt.Remove(ctx, "/srv/app"); err == nil {
		t.Error("Remove of a directory that is not empty succeeded")
	}
	for name, err := range map[string]error{
		"Open":    func() error { _, err := tgt.Open(ctx, "/etc/motd"); return err }(),
		"Stat":    func() error { _, err := tgt.Stat(ctx, "/nope"); return err }(),
		"ReadDir": func() error { _, err := tgt.ReadDir(ctx, "/nope"); return err }(),
		"Remove":  tgt.Remove(ctx, "/nope"),
		"Rename":  tgt.Rename(ctx, "/nope", "/x"),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing path: err = %v, want fs.ErrNotExist", name, err)
		}
	}
}
