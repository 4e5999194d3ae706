package engine

import (
	"encoding/json"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Redacted is shown in place of a sensitive value.
const Redacted = "(sensitive)"

// DisplayValue converts a value to plain Go data for events and output,
// with sensitive parts replaced by Redacted and unknown ones by null.
func DisplayValue(v cty.Value) any {
	if v == cty.NilVal {
		return nil
	}
	if v.IsMarked() {
		if v.HasMark(sensitiveMark) {
			return Redacted
		}
		v, _ = v.Unmark()
	}
	switch {
	case !v.IsKnown() || v.IsNull():
		return nil
	case v.Type().IsObjectType() || v.Type().IsMapType():
		return displayMap(v.AsValueMap())
	case v.Type().IsListType() || v.Type().IsSetType() || v.Type().IsTupleType():
		out := []any{}
		for _, ev := range v.AsValueSlice() {
			out = append(out, DisplayValue(ev))
		}
		return out
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func displayMap(m map[string]cty.Value) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = DisplayValue(v)
	}
	return out
}

func displayParams(params map[string]cty.Value) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		d := DisplayValue(v)
		if s, ok := d.(string); ok {
			out[k] = s
			continue
		}
		b, _ := json.Marshal(d)
		out[k] = string(b)
	}
	return out
}
