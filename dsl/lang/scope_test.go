package lang

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// sensitive is the mark the tests put on secret values.
const sensitive = "sensitive"

// fakeData serves fixed values and records which ones were asked for.
type fakeData struct {
	params, env, secrets, steps, run map[string]cty.Value
	asked                            []string
}

func newFakeData() *fakeData {
	return &fakeData{
		params: map[string]cty.Value{
			"attempts": cty.NumberIntVal(3),
			"token":    cty.StringVal("s3cret").Mark(sensitive),
		},
		env: map[string]cty.Value{
			"services": cty.ObjectVal(map[string]cty.Value{
				"gateway": cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("http://gw")}),
			}),
		},
		secrets: map[string]cty.Value{"db_password": cty.StringVal("hunter2").Mark(sensitive)},
		steps: map[string]cty.Value{
			"build": cty.ObjectVal(map[string]cty.Value{"image": cty.StringVal("app:1")}),
			"check": cty.MapVal(map[string]cty.Value{
				"calc": cty.ObjectVal(map[string]cty.Value{"status": cty.NumberIntVal(200)}),
			}),
		},
		run: map[string]cty.Value{"id": cty.StringVal("r-1")},
	}
}

func (f *fakeData) get(kind string, vals map[string]cty.Value, name string, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	f.asked = append(f.asked, kind+"."+name)
	if v, ok := vals[name]; ok {
		return v, nil
	}
	return cty.DynamicVal, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared " + kind,
		Detail:   fmt.Sprintf("There is no %s named %q.", kind, name),
		Subject:  rng.Ptr(),
	}}
}

func (f *fakeData) GetParam(a addrs.Param, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	return f.get("param", f.params, a.Name, rng)
}

func (f *fakeData) GetEnv(a addrs.EnvValue, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	return f.get("env", f.env, a.Name, rng)
}

func (f *fakeData) GetSecret(a addrs.Secret, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	return f.get("secret", f.secrets, a.Name, rng)
}

func (f *fakeData) GetStep(a addrs.StepRef, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	return f.get("step", f.steps, a.Name, rng)
}

func (f *fakeData) GetRun(a addrs.RunAttr, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	return f.get("run", f.run, a.Name, rng)
}

func parseExpr(t *testing.T, src string) hcl.Expression {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %s", src, diags)
	}
	return expr
}

func TestEvalExpr(t *testing.T) {
	each := &Each{Key: cty.StringVal("gateway"), Value: cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("http://gw")})}
	tests := map[string]struct {
		src       string
		want      cty.Type
		each      *Each
		wantVal   cty.Value
		wantAsked []string
	}{
		"param":            {src: `param.attempts > 0`, want: cty.Bool, wantVal: cty.True, wantAsked: []string{"param.attempts"}},
		"converted":        {src: `param.attempts`, want: cty.String, wantVal: cty.StringVal("3"), wantAsked: []string{"param.attempts"}},
		"env nested":       {src: `env.services.gateway.url`, want: cty.String, wantVal: cty.StringVal("http://gw"), wantAsked: []string{"env.services"}},
		"step":             {src: `step.build.image`, want: cty.DynamicPseudoType, wantVal: cty.StringVal("app:1"), wantAsked: []string{"step.build"}},
		"step instance":    {src: `step.check["calc"].status`, want: cty.Number, wantVal: cty.NumberIntVal(200), wantAsked: []string{"step.check"}},
		"run":              {src: `"run-${run.id}"`, want: cty.String, wantVal: cty.StringVal("run-r-1"), wantAsked: []string{"run.id"}},
		"each":             {src: `"${each.key}=${each.value.url}/health"`, want: cty.String, each: each, wantVal: cty.StringVal("gateway=http://gw/health")},
		"function":         {src: `upper(format("%s-%d", "a", param.attempts))`, want: cty.String, wantVal: cty.StringVal("A-3"), wantAsked: []string{"param.attempts"}},
		"asked once":       {src: `param.attempts + param.attempts`, want: cty.Number, wantVal: cty.NumberIntVal(6), wantAsked: []string{"param.attempts"}},
		"for expression":   {src: `[for k, v in env.services : "${k}:${v.url}"]`, want: cty.List(cty.String), wantVal: cty.ListVal([]cty.Value{cty.StringVal("gateway:http://gw")}), wantAsked: []string{"env.services"}},
		"no references":    {src: `1 + 2`, want: cty.Number, wantVal: cty.NumberIntVal(3)},
		"sensitive kept":   {src: `param.token`, want: cty.String, wantVal: cty.StringVal("s3cret").Mark(sensitive), wantAsked: []string{"param.token"}},
		"mark through ops": {src: `"Bearer ${upper(param.token)}"`, want: cty.String, wantVal: cty.StringVal("Bearer S3CRET").WithMarks(cty.NewValueMarks(sensitive, Derived{Text: "S3CRET"})), wantAsked: []string{"param.token"}},
		"secret":           {src: `"postgres://app:${secret.db_password}@db/app"`, want: cty.String, wantVal: cty.StringVal("postgres://app:hunter2@db/app").Mark(sensitive), wantAsked: []string{"secret.db_password"}},
		"mark in object":   {src: `{ t = param.token }`, want: cty.Map(cty.String), wantVal: cty.MapVal(map[string]cty.Value{"t": cty.StringVal("s3cret").Mark(sensitive)}), wantAsked: []string{"param.token"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := newFakeData()
			scope := &Scope{Data: data, BaseDir: t.TempDir(), Each: tc.each}
			got, diags := scope.EvalExpr(parseExpr(t, tc.src), tc.want)
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics: %s", diags)
			}
			if !got.RawEquals(tc.wantVal) {
				t.Errorf("got %#v, want %#v", got, tc.wantVal)
			}
			if diff := cmp.Diff(tc.wantAsked, data.asked); diff != "" {
				t.Errorf("data asked for (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvalExprErrors(t *testing.T) {
	tests := map[string]struct {
		src         string
		want        cty.Type
		data        bool
		wantSummary string
		// wantCols is the column range of the diagnostic's subject.
		wantCols [2]int
	}{
		"undeclared param":  {src: `1 + param.nope.x`, data: true, wantSummary: "Reference to undeclared param", wantCols: [2]int{5, 15}},
		"undeclared secret": {src: `secret.nope`, data: true, wantSummary: "Reference to undeclared secret", wantCols: [2]int{1, 12}},
		"undeclared step":   {src: `step.gone.out`, data: true, wantSummary: "Reference to undeclared step", wantCols: [2]int{1, 10}},
		"unknown root":      {src: `"${foo.bar}"`, data: true, wantSummary: "Invalid reference", wantCols: [2]int{4, 11}},
		"each outside":      {src: `each.value`, data: true, wantSummary: "Reference to each outside for_each", wantCols: [2]int{1, 11}},
		"wrong type":        {src: `env.services`, want: cty.String, data: true, wantSummary: "Incorrect value type", wantCols: [2]int{1, 13}},
		"no data":           {src: `param.attempts`, wantSummary: "Reference not allowed here", wantCols: [2]int{1, 15}},
		"unknown function":  {src: `nope(1)`, data: true, wantSummary: "Call to unknown function", wantCols: [2]int{1, 5}},
		"missing attribute": {src: `step.build.nope`, data: true, wantSummary: "Unsupported attribute", wantCols: [2]int{11, 16}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			scope := &Scope{}
			if tc.data {
				scope.Data = newFakeData()
			}
			want := tc.want
			if want == cty.NilType {
				want = cty.DynamicPseudoType
			}
			got, diags := scope.EvalExpr(parseExpr(t, tc.src), want)
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %s", diags)
			}
			d := diags[0]
			if d.Summary != tc.wantSummary {
				t.Errorf("summary %q, want %q", d.Summary, tc.wantSummary)
			}
			if d.Subject == nil {
				t.Fatal("no subject")
			}
			if cols := [2]int{d.Subject.Start.Column, d.Subject.End.Column}; cols != tc.wantCols {
				t.Errorf("subject columns %v, want %v", cols, tc.wantCols)
			}
			if got.IsKnown() {
				t.Errorf("value %#v should be unknown on error", got)
			}
		})
	}
}

func TestReferencesInExpr(t *testing.T) {
	refs, diags := ReferencesInExpr(parseExpr(t, `[for s in step.a.items : "${s}-${param.p}-${env.e.x}"][each.key] == run.workflow`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.String())
	}
	want := []string{"step.a.items", "param.p", "env.e.x", "each.key", "run.workflow"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
	if refs, diags := ReferencesInExpr(nil); refs != nil || diags != nil {
		t.Errorf("nil expression: %v %v", refs, diags)
	}
}

func TestEvalBody(t *testing.T) {
	src := `
url     = "${each.value.url}/health"
retries = param.attempts
header "Authorization" {
  value = "Bearer ${param.token}"
}
`
	file, diags := hclsyntax.ParseConfig([]byte(src), "body.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	spec := hcldec.ObjectSpec{
		"url":     &hcldec.AttrSpec{Name: "url", Type: cty.String, Required: true},
		"retries": &hcldec.AttrSpec{Name: "retries", Type: cty.String},
		"headers": &hcldec.BlockMapSpec{TypeName: "header", LabelNames: []string{"name"},
			Nested: &hcldec.AttrSpec{Name: "value", Type: cty.String}},
	}

	refs, diags := ReferencesInBody(file.Body, spec)
	if diags.HasErrors() || len(refs) != 3 {
		t.Fatalf("references = %v, %s", refs, diags)
	}

	scope := &Scope{
		Data: newFakeData(),
		Each: &Each{Key: cty.StringVal("gw"), Value: cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("http://gw")})},
	}
	got, diags := scope.EvalBody(file.Body, spec)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := cty.ObjectVal(map[string]cty.Value{
		"url":     cty.StringVal("http://gw/health"),
		"retries": cty.StringVal("3"),
		"headers": cty.MapVal(map[string]cty.Value{"Authorization": cty.StringVal("Bearer s3cret").Mark(sensitive)}),
	})
	if !got.RawEquals(want) {
		t.Errorf("got %#v, want %#v", got, want)
	}

	// Outside for_each the same body is an error at the reference.
	scope.Each = nil
	_, diags = scope.EvalBody(file.Body, spec)
	if len(diags) != 1 || diags[0].Summary != "Reference to each outside for_each" || diags[0].Subject.Start.Line != 2 {
		t.Errorf("got %s", diags)
	}
}
