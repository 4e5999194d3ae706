package sdk

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/zrun-dev/zrun/sdk/schema"
)

// NewAction builds an Action from Go structs. A and O must be structs whose
// exported fields carry a `zrun:"name[,optional][,sensitive]"` tag and
// optionally `help:"..."`; untagged fields are ignored. Pointer fields are
// optional; a missing optional argument leaves the field at its zero value.
// Field types map to HCL types as go-cty's gocty package does (string,
// bool, ints and floats, slices, maps, and structs with `cty` tags).
// NewAction panics on a struct it cannot describe: that is a bug in the
// plugin, found the first time it starts.
func NewAction[A, O any](name, description string, run func(ctx context.Context, args A, ui UI) (O, error)) Action {
	var a A
	var o O
	s := &schema.Action{
		Name:        name,
		Description: description,
		Args:        mustAttributes(reflect.TypeOf(a)),
		Outputs:     mustAttributes(reflect.TypeOf(o)),
	}
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("sdk.NewAction(%q): %s", name, err))
	}
	return &typedAction[A, O]{schema: s, run: run}
}

type typedAction[A, O any] struct {
	schema *schema.Action
	run    func(ctx context.Context, args A, ui UI) (O, error)
}

func (t *typedAction[A, O]) Schema() *schema.Action { return t.schema }

func (t *typedAction[A, O]) Run(ctx context.Context, req *RunRequest) (*RunResponse, error) {
	var args A
	if err := FromValue(req.Args, &args); err != nil {
		return nil, err
	}
	out, err := t.run(ctx, args, req.UI)
	if err != nil {
		return nil, err
	}
	v, err := ToValue(out, t.schema.OutputsType())
	if err != nil {
		return nil, fmt.Errorf("plugin returned invalid outputs: %w", err)
	}
	return &RunResponse{Outputs: v}, nil
}

type fieldTag struct {
	name      string
	optional  bool
	sensitive bool
}

func parseTag(f reflect.StructField) (fieldTag, bool) {
	raw, ok := f.Tag.Lookup("zrun")
	if !ok || raw == "-" || !f.IsExported() {
		return fieldTag{}, false
	}
	parts := strings.Split(raw, ",")
	t := fieldTag{name: parts[0], optional: f.Type.Kind() == reflect.Pointer}
	for _, opt := range parts[1:] {
		switch opt {
		case "optional":
			t.optional = true
		case "sensitive":
			t.sensitive = true
		}
	}
	return t, true
}

func mustAttributes(rt reflect.Type) []*schema.Attribute {
	attrs, err := Attributes(rt)
	if err != nil {
		panic(err.Error())
	}
	return attrs
}

// Attributes describes the tagged fields of a struct type as schema
// attributes, in field order.
func Attributes(rt reflect.Type) ([]*schema.Attribute, error) {
	if rt == nil || rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("sdk: %v is not a struct", rt)
	}
	var attrs []*schema.Attribute
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag, ok := parseTag(f)
		if !ok {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		ty, err := gocty.ImpliedType(reflect.New(ft).Elem().Interface())
		if err != nil {
			return nil, fmt.Errorf("sdk: field %s.%s: %w", rt.Name(), f.Name, err)
		}
		attrs = append(attrs, &schema.Attribute{
			Name:        tag.name,
			Type:        ty,
			Description: f.Tag.Get("help"),
			Required:    !tag.optional,
			Sensitive:   tag.sensitive,
		})
	}
	return attrs, nil
}

// FromValue copies an object value into the tagged fields of the struct
// pointed to by target. Null attributes leave their field untouched.
func FromValue(v cty.Value, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("sdk: FromValue needs a pointer to a struct, not %T", target)
	}
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return nil
	}
	if !v.Type().IsObjectType() {
		return fmt.Errorf("sdk: want an object value, got %s", v.Type().FriendlyName())
	}
	rv = rv.Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		tag, ok := parseTag(f)
		if !ok || !v.Type().HasAttribute(tag.name) {
			continue
		}
		av := v.GetAttr(tag.name)
		if av.IsNull() {
			continue
		}
		fv := rv.Field(i)
		if fv.Kind() == reflect.Pointer {
			fv.Set(reflect.New(fv.Type().Elem()))
			fv = fv.Elem()
		}
		if err := gocty.FromCtyValue(av, fv.Addr().Interface()); err != nil {
			return fmt.Errorf("argument %q: %w", tag.name, err)
		}
	}
	return nil
}

// ToValue converts the tagged fields of a struct to an object value of
// type ty. Nil pointers become nulls.
func ToValue(src any, ty cty.Type) (cty.Value, error) {
	rv := reflect.ValueOf(src)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return cty.NilVal, fmt.Errorf("sdk: ToValue needs a struct, not %T", src)
	}
	attrs := map[string]cty.Value{}
	for i := 0; i < rv.NumField(); i++ {
		tag, ok := parseTag(rv.Type().Field(i))
		if !ok || !ty.HasAttribute(tag.name) {
			continue
		}
		at := ty.AttributeType(tag.name)
		fv := rv.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				attrs[tag.name] = cty.NullVal(at)
				continue
			}
			fv = fv.Elem()
		}
		av, err := gocty.ToCtyValue(fv.Interface(), at)
		if err != nil {
			return cty.NilVal, fmt.Errorf("output %q: %w", tag.name, err)
		}
		attrs[tag.name] = av
	}
	for name, at := range ty.AttributeTypes() {
		if _, ok := attrs[name]; !ok {
			attrs[name] = cty.NullVal(at)
		}
	}
	return cty.ObjectVal(attrs), nil
}

// Interface guards
var _ Action = (*typedAction[struct{}, struct{}])(nil)
