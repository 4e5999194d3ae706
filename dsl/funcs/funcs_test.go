package funcs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// eval evaluates src with the function table of dir and no variables.
func eval(t *testing.T, dir, src string) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %s", src, diags)
	}
	return expr.Value(&hcl.EvalContext{Functions: Functions(dir)})
}

func TestFunctions(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hello.txt"), "hello\n")
	writeFile(t, filepath.Join(dir, "greet.tpl"), "Hi ${upper(name)}%{ for x in items }-${x}%{ endfor }")
	t.Setenv("ZRUN_FUNCS_TEST", "from-env")

	// want is compared with RawEquals; check is used where the result varies.
	tests := map[string]struct {
		src   string
		want  cty.Value
		check func(cty.Value) bool
	}{
		"abs":             {src: `abs(-3)`, want: cty.NumberIntVal(3)},
		"abspath":         {src: `abspath("/a/../b")`, want: cty.StringVal("/b")},
		"base64decode":    {src: `base64decode("aGk=")`, want: cty.StringVal("hi")},
		"base64encode":    {src: `base64encode("hi")`, want: cty.StringVal("aGk=")},
		"basename":        {src: `basename("/a/b.txt")`, want: cty.StringVal("b.txt")},
		"can":             {src: `can(tonumber("x"))`, want: cty.False},
		"ceil":            {src: `ceil(1.2)`, want: cty.NumberIntVal(2)},
		"chomp":           {src: `chomp("a\n")`, want: cty.StringVal("a")},
		"chunklist":       {src: `length(chunklist([1, 2, 3], 2))`, want: cty.NumberIntVal(2)},
		"coalesce":        {src: `coalesce("", "b")`, want: cty.StringVal("b")},
		"coalescelist":    {src: `coalescelist([], ["a"])`, want: cty.TupleVal([]cty.Value{cty.StringVal("a")})},
		"compact":         {src: `compact(["a", "", "b"])`, want: cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		"concat":          {src: `length(concat([1], [2, 3]))`, want: cty.NumberIntVal(3)},
		"contains":        {src: `contains(["a", "b"], "b")`, want: cty.True},
		"csvdecode":       {src: `csvdecode("a,b\n1,2\n")[0].b`, want: cty.StringVal("2")},
		"dirname":         {src: `dirname("/a/b.txt")`, want: cty.StringVal("/a")},
		"distinct":        {src: `length(distinct(["a", "a", "b"]))`, want: cty.NumberIntVal(2)},
		"element":         {src: `element(["a", "b"], 3)`, want: cty.StringVal("b")},
		"env":             {src: `env("ZRUN_FUNCS_TEST")`, want: cty.StringVal("from-env")},
		"file":            {src: `file("hello.txt")`, want: cty.StringVal("hello\n")},
		"filebase64":      {src: `filebase64("hello.txt")`, want: cty.StringVal("aGVsbG8K")},
		"fileexists":      {src: `fileexists("hello.txt")`, want: cty.True},
		"fileset":         {src: `fileset(".", "*.txt")`, want: cty.SetVal([]cty.Value{cty.StringVal("hello.txt")})},
		"flatten":         {src: `length(flatten([[1], [2, [3]]]))`, want: cty.NumberIntVal(3)},
		"floor":           {src: `floor(1.8)`, want: cty.NumberIntVal(1)},
		"format":          {src: `format("%s-%d", "a", 2)`, want: cty.StringVal("a-2")},
		"formatdate":      {src: `formatdate("YYYY-MM-DD", "2024-03-01T10:00:00Z")`, want: cty.StringVal("2024-03-01")},
		"formatlist":      {src: `formatlist("x%s", ["a"])`, want: cty.ListVal([]cty.Value{cty.StringVal("xa")})},
		"indent":          {src: `indent(2, "a\nb")`, want: cty.StringVal("a\n  b")},
		"join":            {src: `join(",", ["a", "b"])`, want: cty.StringVal("a,b")},
		"jsondecode":      {src: `jsondecode("{\"a\":1}").a`, want: cty.NumberIntVal(1)},
		"jsonencode":      {src: `jsonencode({a = 1})`, want: cty.StringVal(`{"a":1}`)},
		"keys":            {src: `keys({b = 1, a = 2})`, want: cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		"length":          {src: `length([1, 2])`, want: cty.NumberIntVal(2)},
		"log":             {src: `log(8, 2)`, want: cty.NumberIntVal(3)},
		"lookup":          {src: `lookup({a = "x"}, "b", "d")`, want: cty.StringVal("d")},
		"lower":           {src: `lower("AB")`, want: cty.StringVal("ab")},
		"max":             {src: `max(1, 5, 3)`, want: cty.NumberIntVal(5)},
		"md5":             {src: `md5("a")`, want: cty.StringVal("0cc175b9c0f1b6a831c399e269772661")},
		"merge":           {src: `merge({a = 1}, {a = 2}).a`, want: cty.NumberIntVal(2)},
		"min":             {src: `min(4, 2)`, want: cty.NumberIntVal(2)},
		"parseint":        {src: `parseint("ff", 16)`, want: cty.NumberIntVal(255)},
		"pow":             {src: `pow(2, 10)`, want: cty.NumberIntVal(1024)},
		"range":           {src: `range(3)`, want: cty.ListVal([]cty.Value{cty.NumberIntVal(0), cty.NumberIntVal(1), cty.NumberIntVal(2)})},
		"regex":           {src: `regex("v([0-9]+)", "v12")`, want: cty.TupleVal([]cty.Value{cty.StringVal("12")})},
		"regexall":        {src: `length(regexall("a", "aba"))`, want: cty.NumberIntVal(2)},
		"replace":         {src: `replace("a-b", "-", "_")`, want: cty.StringVal("a_b")},
		"reverse":         {src: `reverse(["a", "b"])`, want: cty.TupleVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")})},
		"setintersection": {src: `setintersection(["a", "b"], ["b"])`, want: cty.SetVal([]cty.Value{cty.StringVal("b")})},
		"setproduct":      {src: `length(setproduct(["a", "b"], ["c"]))`, want: cty.NumberIntVal(2)},
		"setsubtract":     {src: `setsubtract(["a", "b"], ["b"])`, want: cty.SetVal([]cty.Value{cty.StringVal("a")})},
		"setunion":        {src: `length(setunion(["a"], ["b"]))`, want: cty.NumberIntVal(2)},
		"sha1":            {src: `sha1("a")`, want: cty.StringVal("86f7e437faa5a7fce15d1ddcb9eaeaea377667b8")},
		"sha256":          {src: `sha256("a")`, want: cty.StringVal("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")},
		"sha512":          {src: `substr(sha512("a"), 0, 8)`, want: cty.StringVal("1f40fc92")},
		"signum":          {src: `signum(-4)`, want: cty.NumberIntVal(-1)},
		"slice":           {src: `slice(["a", "b", "c"], 1, 2)`, want: cty.TupleVal([]cty.Value{cty.StringVal("b")})},
		"sort":            {src: `sort(["b", "a"])`, want: cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		"split":           {src: `split(",", "a,b")`, want: cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		"strlen":          {src: `strlen("abc")`, want: cty.NumberIntVal(3)},
		"strrev":          {src: `strrev("abc")`, want: cty.StringVal("cba")},
		"substr":          {src: `substr("hello", 1, 3)`, want: cty.StringVal("ell")},
		"templatefile":    {src: `templatefile("greet.tpl", {name = "bob", items = [1, 2]})`, want: cty.StringVal("Hi BOB-1-2")},
		"timeadd":         {src: `timeadd("2024-01-01T00:00:00Z", "1h")`, want: cty.StringVal("2024-01-01T01:00:00Z")},
		"timestamp":       {src: `timestamp()`, check: func(v cty.Value) bool { return strings.HasSuffix(v.AsString(), "Z") }},
		"title":           {src: `title("hi there")`, want: cty.StringVal("Hi There")},
		"tobool":          {src: `tobool("true")`, want: cty.True},
		"tolist":          {src: `tolist(["a"])`, want: cty.ListVal([]cty.Value{cty.StringVal("a")})},
		"tomap":           {src: `tomap({a = "b"})`, want: cty.MapVal(map[string]cty.Value{"a": cty.StringVal("b")})},
		"tonumber":        {src: `tonumber("5")`, want: cty.NumberIntVal(5)},
		"toset":           {src: `toset(["a", "a"])`, want: cty.SetVal([]cty.Value{cty.StringVal("a")})},
		"tostring":        {src: `tostring(5)`, want: cty.StringVal("5")},
		"trim":            {src: `trim("?!a!?", "!?")`, want: cty.StringVal("a")},
		"trimprefix":      {src: `trimprefix("v1.2", "v")`, want: cty.StringVal("1.2")},
		"trimspace":       {src: `trimspace("  a ")`, want: cty.StringVal("a")},
		"trimsuffix":      {src: `trimsuffix("a.hcl", ".hcl")`, want: cty.StringVal("a")},
		"try":             {src: `try(tonumber("x"), 7)`, want: cty.NumberIntVal(7)},
		"upper":           {src: `upper("ab")`, want: cty.StringVal("AB")},
		"urlencode":       {src: `urlencode("a b")`, want: cty.StringVal("a+b")},
		"uuid":            {src: `uuid()`, check: func(v cty.Value) bool { return len(v.AsString()) == 36 }},
		"uuidv5":          {src: `uuidv5("dns", "example.com")`, want: cty.StringVal("cfbff0d1-9375-5685-968c-48ce8b15ae17")},
		"values":          {src: `values({a = 1})`, want: cty.TupleVal([]cty.Value{cty.NumberIntVal(1)})},
		"zipmap":          {src: `zipmap(["a"], [1]).a`, want: cty.NumberIntVal(1)},
	}

	// Every function in the table is called here, and nothing else is.
	for name := range Functions(dir) {
		if _, ok := tests[name]; !ok {
			t.Errorf("function %s has no test case", name)
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, ok := Functions(dir)[name]; !ok {
				t.Fatalf("function %s is missing", name)
			}
			if !strings.HasPrefix(tc.src, name+"(") && !strings.Contains(tc.src, "("+name+"(") {
				t.Fatalf("test case for %s does not call it: %s", name, tc.src)
			}
			got, diags := eval(t, dir, tc.src)
			if diags.HasErrors() {
				t.Fatalf("%s: %s", tc.src, diags)
			}
			if tc.check != nil {
				if !tc.check(got) {
					t.Errorf("%s = %#v", tc.src, got)
				}
				return
			}
			if !got.RawEquals(tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
			}
		})
	}
}

// TestLength: length counts what Terraform's does, strings included.
func TestLength(t *testing.T) {
	for src, want := range map[string]int64{
		`length([1, 2, 3])`:            3,
		`length(toset(["a", "a"]))`:    1,
		`length(tomap({a = 1}))`:       1,
		`length({a = 1, b = "x"})`:     2,
		`length("héllo")`:              5,
		`length("")`:                   0,
		`length(jsondecode("[1, 2]"))`: 2,
	} {
		got, diags := eval(t, t.TempDir(), src)
		if diags.HasErrors() {
			t.Errorf("%s: %s", src, diags)
			continue
		}
		if !got.RawEquals(cty.NumberIntVal(want)) {
			t.Errorf("%s = %#v, want %d", src, got, want)
		}
	}
}

func TestFunctionErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "t.tpl"), "${missing}")
	writeFile(t, filepath.Join(dir, "rec.tpl"), `${templatefile("rec.tpl", {})}`)
	writeFile(t, filepath.Join(dir, "deep.tpl"), strings.Repeat("%{ if true }", 100000)+strings.Repeat("%{ endif }", 100000))
	writeFile(t, filepath.Join(dir, "latin1.txt"), "caf\xe9")
	tests := map[string]string{
		"file not UTF-8":         `file("latin1.txt")`,
		"env unset":              `env("ZRUN_FUNCS_TEST_UNSET_VARIABLE")`,
		"env too many args":      `env("A", "b", "c")`,
		"file missing":           `file("nope.txt")`,
		"length of a number":     `length(5)`,
		"templatefile undefined": `templatefile("t.tpl", {})`,
		"templatefile recursion": `templatefile("rec.tpl", {})`,
		"templatefile bad vars":  `templatefile("t.tpl", "x")`,
		"templatefile deep":      `templatefile("deep.tpl", {})`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if _, diags := eval(t, dir, src); !diags.HasErrors() {
				t.Errorf("%s: want an error", src)
			}
		})
	}
}

func TestEnvDefault(t *testing.T) {
	got, diags := eval(t, t.TempDir(), `env("ZRUN_FUNCS_TEST_UNSET_VARIABLE", "dflt")`)
	if diags.HasErrors() || !got.RawEquals(cty.StringVal("dflt")) {
		t.Errorf("got %#v, %s", got, diags)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileRefusesDevicesAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	fns := Functions(dir)
	for name, tc := range map[string]struct{ fn, path, want string }{
		"device":              {"file", "/dev/zero", "not a regular file"},
		"big":                 {"file", "big", "larger than"},
		"base64 device":       {"filebase64", "/dev/zero", "not a regular file"},
		"templatefile device": {"templatefile", "/dev/zero", "not a regular file"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []cty.Value{cty.StringVal(tc.path)}
			if tc.fn == "templatefile" {
				args = append(args, cty.EmptyObjectVal)
			}
			_, err := fns[tc.fn].Call(args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
