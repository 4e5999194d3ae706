package sdk_test

import (
	"context"
	"errors"
	"path"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

type copyArgs struct {
	Dest  string  `zrun:"dest" help:"Where to."`
	From  *string `zrun:"from,stream"`
	Token string  `zrun:"token,optional,sensitive"`
	Mode  *int    `zrun:"mode"`
}

type copyOut struct {
	Size   int64  `zrun:"size"`
	Stream string `zrun:"stream,stream"`
}

func validateCopy(_ context.Context, a copyArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("dest") && !path.IsAbs(a.Dest) {
		diags = diags.Errorf(cty.GetAttrPath("dest"), "Relative destination", "dest must be an absolute path.")
	}
	return diags
}

func planCopy(_ context.Context, a copyArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("dest") {
		return &sdk.PlanResponse{Changes: []string{"copy (destination known at run time)"}}, nil
	}
	if a.Dest == "/forbidden" {
		return nil, &sdk.ArgError{Path: cty.GetAttrPath("dest"), Summary: "Forbidden", Detail: "not there"}
	}
	return &sdk.PlanResponse{Changes: []string{"copy to " + a.Dest}}, nil
}

func runCopy(_ context.Context, a copyArgs, _ sdk.UI) (copyOut, error) {
	if a.Dest == "/missing" {
		return copyOut{}, &sdk.ArgError{Path: cty.GetAttrPath("dest"), Summary: "Missing directory", Detail: "/ has no such thing."}
	}
	if a.Dest == "/fail" {
		return copyOut{}, errors.New("it broke")
	}
	return copyOut{Size: int64(len(a.Dest)), Stream: "ignored: the host owns stream values"}, nil
}

func copyAction() sdk.Action {
	return sdk.NewAction("copy", "Copy.", runCopy, sdk.WithValidate(validateCopy), sdk.WithPlan(planCopy))
}

func copyArgsVal(dest cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"dest":  dest,
		"from":  cty.NullVal(cty.String),
		"token": cty.StringVal("s3cret"),
		"mode":  cty.NullVal(cty.Number),
	})
}

func TestNewActionSchemaTags(t *testing.T) {
	s := copyAction().Schema()
	type attr struct {
		Name                        string
		Required, Sensitive, Stream bool
	}
	var got []attr
	for _, a := range append(append([]*schema.Attribute{}, s.Args...), s.Outputs...) {
		got = append(got, attr{a.Name, a.Required, a.Sensitive, a.Stream})
	}
	want := []attr{
		{"dest", true, false, false},
		{"from", false, false, true},
		{"token", false, true, false},
		{"mode", false, false, false},
		{"size", true, false, false},
		{"stream", true, false, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

type ownership struct {
	Owner *string `zrun:"owner"`
	Group string  `zrun:"group,optional"`
}

type chownArgs struct {
	Path string `zrun:"path"`
	ownership
}

func TestNewActionEmbeddedArgs(t *testing.T) {
	var got chownArgs
	a := sdk.NewAction("chown", "Chown.", func(_ context.Context, a chownArgs, _ sdk.UI) (chownArgs, error) {
		got = a
		return a, nil
	})
	var names []string
	for _, attr := range a.Schema().Args {
		names = append(names, attr.Name)
	}
	if diff := cmp.Diff([]string{"path", "owner", "group"}, names); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
	args := cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("/x"), "owner": cty.StringVal("www"), "group": cty.StringVal("adm")})
	resp, err := a.Run(t.Context(), &sdk.RunRequest{Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != "/x" || got.Owner == nil || *got.Owner != "www" || got.Group != "adm" {
		t.Errorf("decoded %+v", got)
	}
	if !resp.Outputs.RawEquals(args) {
		t.Errorf("outputs = %#v", resp.Outputs)
	}
}

func TestNewActionStreamMustBeString(t *testing.T) {
	type bad struct {
		N int `zrun:"n,stream"`
	}
	defer func() {
		if recover() == nil {
			t.Error("NewAction accepted a stream of numbers")
		}
	}()
	sdk.NewAction("bad", "Bad.", func(context.Context, bad, sdk.UI) (struct{}, error) { return struct{}{}, nil })
}

func TestNewActionWithoutOptions(t *testing.T) {
	a := sdk.NewAction("plain", "Plain.", runCopy)
	if _, ok := a.(sdk.Validator); ok {
		t.Error("an action without WithValidate is a Validator")
	}
	if _, ok := a.(sdk.Planner); ok {
		t.Error("an action without WithPlan is a Planner")
	}
	if _, ok := sdk.NewAction("v", "V.", runCopy, sdk.WithValidate(validateCopy)).(sdk.Planner); ok {
		t.Error("an action with WithValidate only is a Planner")
	}
}

func TestNewActionValidate(t *testing.T) {
	v := copyAction().(sdk.Validator)
	tests := map[string]struct {
		args cty.Value
		want []string
	}{
		"absolute":       {args: copyArgsVal(cty.StringVal("/etc/x"))},
		"relative":       {args: copyArgsVal(cty.StringVal("etc/x")), want: []string{"Relative destination"}},
		"unknown dest":   {args: copyArgsVal(cty.UnknownVal(cty.String))},
		"wholly unknown": {args: cty.UnknownVal(copyAction().Schema().ArgsType())},
		"marked":         {args: copyArgsVal(cty.StringVal("rel").Mark(sdk.Sensitive)), want: []string{"Relative destination"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, d := range v.Validate(t.Context(), &sdk.ValidateRequest{Action: "copy", Args: tc.args}) {
				got = append(got, d.Summary)
				if !d.Path.Equals(cty.GetAttrPath("dest")) {
					t.Errorf("diagnostic path %#v", d.Path)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewActionPlan(t *testing.T) {
	p := copyAction().(sdk.Planner)
	tests := map[string]struct {
		dest    cty.Value
		want    []string
		wantErr string
	}{
		"known":     {dest: cty.StringVal("/a"), want: []string{"copy to /a"}},
		"unknown":   {dest: cty.UnknownVal(cty.String), want: []string{"copy (destination known at run time)"}},
		"invalid":   {dest: cty.StringVal("a"), wantErr: "Relative destination: dest must be an absolute path."},
		"arg error": {dest: cty.StringVal("/forbidden"), wantErr: "Forbidden: not there"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := p.Plan(t.Context(), &sdk.PlanRequest{Args: copyArgsVal(tc.dest)})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Plan error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, resp.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewActionRun(t *testing.T) {
	a := copyAction()
	outNull := cty.NullVal(cty.String)
	tests := map[string]struct {
		dest      string
		want      cty.Value
		wantDiag  string
		wantPath  cty.Path
		wantError string
	}{
		"ok":              {dest: "/ab", want: cty.ObjectVal(map[string]cty.Value{"size": cty.NumberIntVal(3), "stream": outNull})},
		"validated again": {dest: "rel", wantDiag: "Relative destination", wantPath: cty.GetAttrPath("dest")},
		"arg error":       {dest: "/missing", wantDiag: "Missing directory", wantPath: cty.GetAttrPath("dest")},
		"plain error":     {dest: "/fail", wantError: "it broke"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := a.Run(t.Context(), &sdk.RunRequest{Args: copyArgsVal(cty.StringVal(tc.dest))})
			if tc.wantError != "" {
				if err == nil || err.Error() != tc.wantError {
					t.Fatalf("Run error = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantDiag != "" {
				if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != tc.wantDiag || !resp.Diagnostics[0].Path.Equals(tc.wantPath) {
					t.Fatalf("diagnostics = %#v, want %q at %#v", resp.Diagnostics, tc.wantDiag, tc.wantPath)
				}
				return
			}
			if !resp.Outputs.RawEquals(tc.want) {
				t.Errorf("outputs = %#v, want %#v", resp.Outputs, tc.want)
			}
		})
	}
}
