package main

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

func TestFormatValue(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		v    cty.Value
		want string
	}{
		"control characters": {cty.StringVal("a\x01\"\\%{x}"), `"a\u0001\"\\%%{x}"`},
		"lone dollar":        {cty.StringVal("$5 and %d"), `"$5 and %d"`},
		"heredoc delimiter":  {cty.StringVal("EOT\nx"), "<<EOT_\nEOT\nx\nEOT_"},
		"indented heredoc":   {cty.TupleVal([]cty.Value{cty.StringVal("a\nb")}), "[\n  <<-EOT\n  a\n  b\n  EOT,\n]"},
		"typed null":         {cty.NullVal(cty.List(cty.String)), "tolist(null) /* of string */"},
		"unknown element":    {cty.ListVal([]cty.Value{cty.UnknownVal(cty.Number)}), "tolist([\n  (known at run time),\n])"},
		"sensitive unknown":  {cty.UnknownVal(cty.String).Mark(sdk.Sensitive), "(sensitive value)"},
		"sensitive inside":   {cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v").Mark(sdk.Sensitive)}), "tomap({\n  \"k\" = (sensitive value)\n})"},
		"fraction":           {cty.NumberFloatVal(0.5), "0.5"},
		"huge":               {cty.MustParseNumberVal("1e99999"), "(a number beyond ±2^4096)"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatValue(tt.v, 0); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
