package http

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// args builds an action's arguments object, with nulls for those not given.
func args(action string, set map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{}
	for name, ty := range Plugin().Schema().Actions[action].ArgsType().AttributeTypes() {
		attrs[name] = cty.NullVal(ty)
		if v, ok := set[name]; ok {
			attrs[name] = v
		}
	}
	return cty.ObjectVal(attrs)
}

// run runs an action in process against the local target and returns its
// outputs and its error (from diagnostics).
func run(ctx context.Context, t *testing.T, action string, a cty.Value, ui *sdktest.UI) (cty.Value, error) {
	t.Helper()
	resp, err := sdk.InProcess(Plugin()).RunAction(ctx, action, &sdk.RunRequest{Args: a, Target: local.Target(), UI: ui})
	if err != nil {
		t.Fatalf("RunAction: %v", err)
	}
	return resp.Outputs, resp.Diagnostics.Err()
}

// diag is the part of a diagnostic validation tests compare.
type diag struct {
	Summary string
	Path    cty.Path
}

func validate(t *testing.T, action string, a cty.Value) []diag {
	t.Helper()
	all, err := sdk.InProcess(Plugin()).ValidateActions(t.Context(), []*sdk.ValidateRequest{{Action: action, Args: a}})
	if err != nil {
		t.Fatal(err)
	}
	var got []diag
	for _, d := range all[0] {
		got = append(got, diag{d.Summary, d.Path})
	}
	return got
}

func diffDiags(want, got []diag) string {
	return cmp.Diff(want, got, cmp.Comparer(cty.Path.Equals))
}

// newUI returns a recording UI and a function returning its log so far.
func newUI() (*sdktest.UI, func() string) {
	ui := sdktest.NewUI(local.Target(), sdk.RunInfo{})
	return ui, func() string { return strings.Join(ui.Record().Logs, "\n") }
}

func strMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vs := map[string]cty.Value{}
	for k, v := range m {
		vs[k] = cty.StringVal(v)
	}
	return cty.MapVal(vs)
}

func numList(ns ...int) cty.Value {
	vs := make([]cty.Value, len(ns))
	for i, n := range ns {
		vs[i] = cty.NumberIntVal(int64(n))
	}
	return cty.ListVal(vs)
}
