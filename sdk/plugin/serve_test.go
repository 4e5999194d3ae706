package plugin_test

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
	"github.com/zrun-dev/zrun/sdk/schema"
)

type rawAction struct{ s *schema.Action }

func (a rawAction) Schema() *schema.Action { return a.s }
func (a rawAction) Run(context.Context, *sdk.RunRequest) (*sdk.RunResponse, error) {
	return nil, nil
}

func TestCheck(t *testing.T) {
	ok := rawAction{&schema.Action{Name: "ok"}}
	tests := map[string]struct {
		p    *sdk.Plugin
		want string
	}{
		"valid":      {p: &sdk.Plugin{Name: "greet", Actions: []sdk.Action{ok}}},
		"nil":        {want: "no plugin"},
		"bad name":   {p: &sdk.Plugin{Name: "Greet"}, want: `plugin name "Greet" must match ^[a-z][a-z0-9_]*$`},
		"duplicate":  {p: &sdk.Plugin{Name: "greet", Actions: []sdk.Action{ok, ok}}, want: `plugin "greet": action "ok" is declared twice`},
		"nil action": {p: &sdk.Plugin{Name: "greet", Actions: []sdk.Action{nil}}, want: `plugin "greet": action #0 is nil or has no schema`},
		"untyped attribute": {
			p:    &sdk.Plugin{Name: "greet", Actions: []sdk.Action{rawAction{&schema.Action{Name: "a", Args: []*schema.Attribute{{Name: "x"}}}}}},
			want: `action greet.a: attribute "x" has no type`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := plugin.Check(tc.p); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPluginSetsPanicsOnInvalidSchema(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("want a panic")
		}
	}()
	plugin.PluginSets(&sdk.Plugin{Name: "greet", Actions: []sdk.Action{rawAction{&schema.Action{Name: "a", Args: []*schema.Attribute{{Name: "x", Type: cty.NilType}}}}}})
}
