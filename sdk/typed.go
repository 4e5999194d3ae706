package sdk

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/zrun-dev/zrun/sdk/schema"
)

// NewAction builds an Action from Go structs. A and O must be structs whose
// exported fields carry a `zrun:"name[,optional][,sensitive][,stream]"`
// tag and optionally `help:"..."`; untagged fields are ignored, but the
// fields of an embedded struct without a tag count as the outer struct's
// own (arguments shared by several actions). Pointer fields are optional; a missing optional argument leaves the field at its
// zero value. Field types map to HCL types as go-cty's gocty package does
// (string, bool, ints and floats, slices, maps, and structs with `cty`
// tags). A stream field (a pipe between steps, schema.Attribute.Stream)
// must be a string: the action reads an argument's bytes with
// UI.InputStream and writes an output's with UI.OutputStream, and the host
// owns the field's value (the action's is ignored).
//
// Options add typed validation (WithValidate) and planning (WithPlan): the
// returned Action then implements Validator and Planner. Run validates
// again before it calls run, since a host may run a step it did not
// validate first. NewAction panics on a struct it cannot describe: that is
// a bug in the plugin, found the first time it starts.
func NewAction[A, O any](name, description string, run func(ctx context.Context, args A, ui UI) (O, error), opts ...ActionOption[A]) Action {
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
	t := &typedAction[A, O]{schema: s, run: run}
	for _, opt := range opts {
		opt(&t.typedOptions)
	}
	switch {
	case t.validate != nil && t.plan != nil:
		return &struct {
			*typedAction[A, O]
			typedValidator[A, O]
			typedPlanner[A, O]
		}{t, typedValidator[A, O]{t}, typedPlanner[A, O]{t}}
	case t.validate != nil:
		return &struct {
			*typedAction[A, O]
			typedValidator[A, O]
		}{t, typedValidator[A, O]{t}}
	case t.plan != nil:
		return &struct {
			*typedAction[A, O]
			typedPlanner[A, O]
		}{t, typedPlanner[A, O]{t}}
	}
	return t
}

// ActionOption adds typed behaviour to an action built by NewAction.
type ActionOption[A any] func(*typedOptions[A])

type typedOptions[A any] struct {
	validate func(ctx context.Context, args A, known Known) Diagnostics
	plan     func(ctx context.Context, args A, known Known, target Target) (*PlanResponse, error)
}

// WithValidate makes the action a Validator: fn checks the arguments
// beyond their types, with the rules of Validator.Validate (it depends on
// args alone: no files, network or clock). At validation time an argument
// computed by a step that has not run is unknown: its field holds its zero
// value and known.Has reports false, so fn skips its checks. Run calls fn
// again with every argument known, and fails the step on its errors
// without running it.
func WithValidate[A any](fn func(ctx context.Context, args A, known Known) Diagnostics) ActionOption[A] {
	return func(o *typedOptions[A]) { o.validate = fn }
}

// WithPlan makes the action a Planner: fn says what the action would
// change on target (nil when the host plans without one). Unknown
// arguments are as for WithValidate. An ArgError returned by fn points at
// the argument at fault.
func WithPlan[A any](fn func(ctx context.Context, args A, known Known, target Target) (*PlanResponse, error)) ActionOption[A] {
	return func(o *typedOptions[A]) { o.plan = fn }
}

// Known says which arguments of a typed action hold known values. Every
// argument is known at run time; at validation and plan time those
// computed by steps that have not run yet are not.
type Known struct {
	unknown map[string]bool
}

// Has reports whether the named argument (its HCL name) is wholly known.
func (k Known) Has(arg string) bool { return !k.unknown[arg] }

// All reports whether every argument is known.
func (k Known) All() bool { return len(k.unknown) == 0 }

// ArgError is an error about one argument. Returned by a typed action's
// run or plan function, it becomes a diagnostic pointing at the argument
// (Path), which zrun shows with the argument's source.
type ArgError struct {
	Path    cty.Path
	Summary string
	Detail  string
}

func (e *ArgError) Error() string {
	if e.Detail == "" {
		return e.Summary
	}
	return e.Summary + ": " + e.Detail
}

type typedAction[A, O any] struct {
	schema *schema.Action
	run    func(ctx context.Context, args A, ui UI) (O, error)
	typedOptions[A]
}

func (t *typedAction[A, O]) Schema() *schema.Action { return t.schema }

func (t *typedAction[A, O]) Run(ctx context.Context, req *RunRequest) (*RunResponse, error) {
	var args A
	if err := FromValue(req.Args, &args); err != nil {
		return nil, err
	}
	if t.validate != nil {
		if diags := t.validate(ctx, args, Known{}); diags.HasErrors() {
			return &RunResponse{Diagnostics: diags}, nil
		}
	}
	out, err := t.run(ctx, args, req.UI)
	if err != nil {
		if diags, ok := argDiagnostics(err); ok {
			return &RunResponse{Diagnostics: diags}, nil
		}
		return nil, err
	}
	v, err := ToValue(out, t.schema.OutputsType())
	if err != nil {
		return nil, fmt.Errorf("plugin returned invalid outputs: %w", err)
	}
	return &RunResponse{Outputs: v}, nil
}

// argDiagnostics turns an ArgError into the diagnostic it stands for.
func argDiagnostics(err error) (Diagnostics, bool) {
	var ae *ArgError
	if !errors.As(err, &ae) {
		return nil, false
	}
	return Diagnostics{}.Errorf(ae.Path, ae.Summary, ae.Detail), true
}

// typedValidator and typedPlanner are embedded beside a typedAction only
// when their option was given, so that an action without them does not
// claim to be a Validator or Planner (the host describes a step it cannot
// plan by its arguments).
type typedValidator[A, O any] struct{ t *typedAction[A, O] }

func (v typedValidator[A, O]) Validate(ctx context.Context, req *ValidateRequest) Diagnostics {
	var args A
	known, err := fromKnownValue(req.Args, &args)
	if err != nil {
		return Diagnostics{}.Errorf(nil, "Invalid arguments", err.Error())
	}
	return v.t.validate(ctx, args, known)
}

type typedPlanner[A, O any] struct{ t *typedAction[A, O] }

func (p typedPlanner[A, O]) Plan(ctx context.Context, req *PlanRequest) (*PlanResponse, error) {
	var args A
	known, err := fromKnownValue(req.Args, &args)
	if err != nil {
		return nil, err
	}
	if p.t.validate != nil {
		if diags := p.t.validate(ctx, args, known); diags.HasErrors() {
			return nil, diags.Err()
		}
	}
	return p.t.plan(ctx, args, known, req.Target)
}

type fieldTag struct {
	name      string
	optional  bool
	sensitive bool
	stream    bool
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
		case "stream":
			t.stream = true
		}
	}
	return t, true
}

// taggedField is a tagged field of a struct, found by its index path:
// the fields of an embedded struct without a zrun tag count as the outer
// struct's own, so that actions can share a set of arguments.
type taggedField struct {
	reflect.StructField
	tag fieldTag
}

func taggedFields(rt reflect.Type) []taggedField {
	var out []taggedField
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if _, tagged := f.Tag.Lookup("zrun"); f.Anonymous && !tagged && f.Type.Kind() == reflect.Struct {
			for _, inner := range taggedFields(f.Type) {
				inner.Index = append([]int{i}, inner.Index...)
				out = append(out, inner)
			}
			continue
		}
		if tag, ok := parseTag(f); ok {
			out = append(out, taggedField{StructField: f, tag: tag})
		}
	}
	return out
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
	for _, f := range taggedFields(rt) {
		tag := f.tag
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		ty, err := gocty.ImpliedType(reflect.New(ft).Elem().Interface())
		if err != nil {
			return nil, fmt.Errorf("sdk: field %s.%s: %w", rt.Name(), f.Name, err)
		}
		if tag.stream && ty != cty.String {
			return nil, fmt.Errorf("sdk: field %s.%s: a stream must be a string (the host's address of the pipe), not %s", rt.Name(), f.Name, ty.FriendlyName())
		}
		attrs = append(attrs, &schema.Attribute{
			Name:        tag.name,
			Type:        ty,
			Description: f.Tag.Get("help"),
			Required:    !tag.optional,
			Sensitive:   tag.sensitive,
			Stream:      tag.stream,
		})
	}
	return attrs, nil
}

// FromValue copies an object value into the tagged fields of the struct
// pointed to by target. Null attributes leave their field untouched.
func FromValue(v cty.Value, target any) error {
	_, err := fromValue(v, target, false)
	return err
}

// fromKnownValue is FromValue for a value that may hold unknowns (at
// validation and plan time): an attribute that is not wholly known leaves
// its field untouched and is reported unknown.
func fromKnownValue(v cty.Value, target any) (Known, error) {
	return fromValue(v, target, true)
}

func fromValue(v cty.Value, target any, partial bool) (Known, error) {
	var known Known
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return known, fmt.Errorf("sdk: FromValue needs a pointer to a struct, not %T", target)
	}
	v, _ = v.UnmarkDeep()
	if partial && !v.IsKnown() {
		known.unknown = map[string]bool{}
		for _, f := range taggedFields(rv.Elem().Type()) {
			known.unknown[f.tag.name] = true
		}
		return known, nil
	}
	if v.IsNull() {
		return known, nil
	}
	if !v.Type().IsObjectType() {
		return known, fmt.Errorf("sdk: want an object value, got %s", v.Type().FriendlyName())
	}
	rv = rv.Elem()
	for _, f := range taggedFields(rv.Type()) {
		tag := f.tag
		if !v.Type().HasAttribute(tag.name) {
			continue
		}
		av := v.GetAttr(tag.name)
		if partial && !av.IsWhollyKnown() {
			if known.unknown == nil {
				known.unknown = map[string]bool{}
			}
			known.unknown[tag.name] = true
			continue
		}
		if av.IsNull() {
			continue
		}
		fv := rv.FieldByIndex(f.Index)
		if fv.Kind() == reflect.Pointer {
			fv.Set(reflect.New(fv.Type().Elem()))
			fv = fv.Elem()
		}
		if err := gocty.FromCtyValue(av, fv.Addr().Interface()); err != nil {
			return known, fmt.Errorf("argument %q: %w", tag.name, err)
		}
	}
	return known, nil
}

// ToValue converts the tagged fields of a struct to an object value of
// type ty. Nil pointers and stream fields (whose value the host owns)
// become nulls.
func ToValue(src any, ty cty.Type) (cty.Value, error) {
	rv := reflect.ValueOf(src)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return cty.NilVal, fmt.Errorf("sdk: ToValue needs a struct, not %T", src)
	}
	attrs := map[string]cty.Value{}
	for _, f := range taggedFields(rv.Type()) {
		tag := f.tag
		if !ty.HasAttribute(tag.name) || tag.stream {
			continue
		}
		at := ty.AttributeType(tag.name)
		fv := rv.FieldByIndex(f.Index)
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
var (
	_ Action    = (*typedAction[struct{}, struct{}])(nil)
	_ Validator = typedValidator[struct{}, struct{}]{}
	_ Planner   = typedPlanner[struct{}, struct{}]{}
)
