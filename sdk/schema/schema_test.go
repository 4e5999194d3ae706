package schema

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestActionValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		action *Action
		want   string // "" for valid
	}{
		"valid":              {action: &Action{Name: "run", Args: []*Attribute{{Name: "url", Type: cty.String}}, Outputs: []*Attribute{{Name: "timeout", Type: cty.String}}}},
		"no args":            {action: &Action{Name: "run"}},
		"bad action name":    {action: &Action{Name: "Run"}, want: "action name"},
		"bad attribute name": {action: &Action{Name: "run", Args: []*Attribute{{Name: "my-url", Type: cty.String}}}, want: "attribute name"},
		"duplicate":          {action: &Action{Name: "run", Args: []*Attribute{{Name: "a", Type: cty.String}, {Name: "a", Type: cty.String}}}, want: "duplicate"},
		"meta-argument":      {action: &Action{Name: "run", Args: []*Attribute{{Name: "timeout", Type: cty.String}}}, want: "meta-argument"},
		"no type":            {action: &Action{Name: "run", Args: []*Attribute{{Name: "a"}}}, want: "no type"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.action.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	a := &Action{Name: "run", Args: []*Attribute{{Name: "url", Type: cty.String}}, Outputs: []*Attribute{{Name: "n", Type: cty.Number}}}
	if !a.ArgsType().Equals(cty.Object(map[string]cty.Type{"url": cty.String})) {
		t.Errorf("ArgsType = %#v", a.ArgsType())
	}
	if a.Output("n") == nil || a.Arg("nope") != nil {
		t.Error("lookup")
	}
}
