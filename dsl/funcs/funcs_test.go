package funcs

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
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
	t.Setenv("HOME", "/home/ops")
	rsaKey, rsaCipher := rsaFixture(t)

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
		"replace":         {src: `replace("abc123", "/[0-9]+/", "N")`, want: cty.StringVal("abcN")},
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

		// Terraform's documented examples.
		"alltrue":          {src: `alltrue(["true", true])`, want: cty.True},
		"anytrue":          {src: `anytrue([false, "true"])`, want: cty.True},
		"base64gzip":       {src: `base64gzip("hello")`, check: gunzips("hello")},
		"base64sha256":     {src: `base64sha256("hello world")`, want: cty.StringVal("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")},
		"base64sha512":     {src: `base64sha512("test")`, want: cty.StringVal("7iaw3Ur350mqGo7jwQrpkj9hiYB3Lkc/iBml1JQODbJ6wYX4oOHV+E+IvIh/1nsUNzLDBMxfqa2Ob1f1ACio/w==")},
		"bcrypt":           {src: `bcrypt("hello", 5)`, check: func(v cty.Value) bool { return strings.HasPrefix(v.AsString(), "$2a$05$") }},
		"cidrcontains":     {src: `cidrcontains("192.168.2.0/20", "192.168.2.1")`, want: cty.True},
		"cidrhost":         {src: `cidrhost("10.12.112.0/20", 268)`, want: cty.StringVal("10.12.113.12")},
		"cidrnetmask":      {src: `cidrnetmask("172.16.0.0/12")`, want: cty.StringVal("255.240.0.0")},
		"cidrsubnet":       {src: `cidrsubnet("172.16.0.0/12", 4, 2)`, want: cty.StringVal("172.18.0.0/16")},
		"cidrsubnets":      {src: `cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)`, want: cty.ListVal([]cty.Value{cty.StringVal("10.1.0.0/20"), cty.StringVal("10.1.16.0/20"), cty.StringVal("10.1.32.0/24"), cty.StringVal("10.1.48.0/20")})},
		"endswith":         {src: `endswith("hello world", "world")`, want: cty.True},
		"filebase64sha256": {src: `filebase64sha256("hello.txt")`, want: cty.StringVal("WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=")},
		"filebase64sha512": {src: `filebase64sha512("hello.txt")`, want: cty.StringVal("58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ==")},
		"filemd5":          {src: `filemd5("hello.txt")`, want: cty.StringVal("b1946ac92492d2347c6235b4d2611184")},
		"filesha1":         {src: `filesha1("hello.txt")`, want: cty.StringVal("f572d396fae9206628714fb2ce00f72e94f2258f")},
		"filesha256":       {src: `filesha256("hello.txt")`, want: cty.StringVal("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")},
		"filesha512":       {src: `substr(filesha512("hello.txt"), 0, 20)`, want: cty.StringVal("e7c22b994c59d9cf2b48")},
		"index":            {src: `index(["a", "b", "c"], "b")`, want: cty.NumberIntVal(1)},
		"issensitive":      {src: `issensitive(sensitive("x"))`, want: cty.True},
		"matchkeys":        {src: `matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])`, want: cty.ListVal([]cty.Value{cty.StringVal("i-abc"), cty.StringVal("i-def")})},
		"nonsensitive":     {src: `nonsensitive(sensitive("x"))`, want: cty.StringVal("x")},
		"one":              {src: `one(["hello"])`, want: cty.StringVal("hello")},
		"pathexpand":       {src: `pathexpand("~/.ssh/id_rsa")`, want: cty.StringVal("/home/ops/.ssh/id_rsa")},
		"rsadecrypt":       {src: fmt.Sprintf(`rsadecrypt(%q, %q)`, rsaCipher, rsaKey), want: cty.StringVal("Hello, world!")},
		"sensitive":        {src: `sensitive("x")`, want: cty.StringVal("x").Mark(sdk.Sensitive)},
		"startswith":       {src: `startswith("hello world", "hello")`, want: cty.True},
		"strcontains":      {src: `strcontains("hello world", "wor")`, want: cty.True},
		"sum":              {src: `sum([10, 13, 6, 4.5])`, want: cty.NumberFloatVal(33.5)},
		"templatestring":   {src: `templatestring("Hello, $${name}!", {name = "Jane"})`, want: cty.StringVal("Hello, Jane!")},
		"textdecodebase64": {src: `textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")`, want: cty.StringVal("Hello World")},
		"textencodebase64": {src: `textencodebase64("Hello World", "UTF-16LE")`, want: cty.StringVal("SABlAGwAbABvACAAVwBvAHIAbABkAA==")},
		"timecmp":          {src: `timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00Z")`, want: cty.NumberIntVal(1)},
		"transpose":        {src: `transpose({a = ["1", "2"], b = ["2", "3"]})`, want: cty.MapVal(map[string]cty.Value{"1": cty.ListVal([]cty.Value{cty.StringVal("a")}), "2": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}), "3": cty.ListVal([]cty.Value{cty.StringVal("b")})})},
		"yamldecode":       {src: `yamldecode("hello: world\nlist: [1, 2]").list[1]`, want: cty.NumberIntVal(2)},
		"yamlencode":       {src: `yamlencode({a = "b", c = ["d"]})`, want: cty.StringVal("\"a\": \"b\"\n\"c\":\n- \"d\"\n")},
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

// rsaFixture returns a PEM private key and "Hello, world!" encrypted
// with it, in base64, as rsadecrypt takes them.
func rsaFixture(t *testing.T) (key, ciphertext string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rsa.EncryptPKCS1v15(rand.Reader, &k.PublicKey, []byte("Hello, world!"))
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return string(p), base64.StdEncoding.EncodeToString(c)
}

// gunzips checks that a value is want compressed with gzip, in base64.
func gunzips(want string) func(cty.Value) bool {
	return func(v cty.Value) bool {
		raw, err := base64.StdEncoding.DecodeString(v.AsString())
		if err != nil {
			return false
		}
		r, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return false
		}
		got, err := io.ReadAll(r)
		return err == nil && string(got) == want
	}
}

// TestTerraformFunctionErrors: wrong arguments fail as they do in
// Terraform, with a message that says what is wrong.
func TestTerraformFunctionErrors(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct{ src, want string }{
		"cidrsubnet bad CIDR":          {`cidrsubnet("not-a-cidr", 4, 1)`, "invalid CIDR expression"},
		"cidrsubnet prefix too long":   {`cidrsubnet("192.168.0.0/30", 4, 6)`, "insufficient address space"},
		"cidrsubnet netnum too big":    {`cidrsubnet("10.0.0.0/16", 2, 16)`, "does not accommodate a subnet numbered 16"},
		"cidrhost out of range":        {`cidrhost("192.168.1.0/30", 255)`, "does not accommodate a host numbered 255"},
		"cidrhost octet":               {`cidrhost("10.256.0.0/8", 6)`, "invalid CIDR expression"},
		"cidrnetmask IPv6":             {`cidrnetmask("fe80::/48")`, "IPv6 addresses cannot have a netmask"},
		"cidrcontains family":          {`cidrcontains("10.0.0.0/8", "fe80::1")`, "address family mismatch"},
		"cidrcontains bad address":     {`cidrcontains("10.0.0.0/8", "10.0.0.x")`, "invalid IP address"},
		"index not found":              {`index(["a", "b"], "z")`, "item not found"},
		"index of a map":               {`index({a = "b"}, "b")`, "must be a list or tuple"},
		"one with two elements":        {`one(["a", "b"])`, "either zero or one elements"},
		"one of a map":                 {`one({a = 1})`, "must be a list, set, or tuple"},
		"sum empty":                    {`sum([])`, "cannot sum an empty list"},
		"sum of strings":               {`sum(["1"])`, "of number values, not of string"},
		"index of another type":        {`index(["1"], 1)`, "item not found"},
		"sum of a string":              {`sum("a")`, "cannot sum string"},
		"alltrue of a string":          {`alltrue(["maybe"])`, "bool"},
		"matchkeys lengths":            {`matchkeys(["a"], ["x", "y"], ["x"])`, "length of keys and values should be equal"},
		"timecmp bad timestamp":        {`timecmp("yesterday", "2017-11-22T00:00:00Z")`, "not a valid RFC 3339 timestamp"},
		"textencodebase64 encoding":    {`textencodebase64("x", "NOPE-42")`, "not a supported IANA encoding"},
		"textdecodebase64 not base64":  {`textdecodebase64("%%%", "UTF-8")`, "not valid base64"},
		"nonsensitive not sensitive":   {`nonsensitive("plain")`, "not sensitive"},
		"replace bad regexp":           {`replace("a", "/(/", "b")`, "invalid regular expression"},
		"filesha256 missing":           {`filesha256("nope.txt")`, "no such file"},
		"filemd5 device":               {`filemd5("/dev/zero")`, "not a regular file"},
		"templatestring undefined var": {`templatestring("$${x}", {})`, `vars has no "x"`},
		"templatestring recursion":     {`templatestring("$${templatestring(\"a\", {})}", {})`, "templatestring"},
		"yamldecode bad YAML":          {`yamldecode("a: [")`, "did not find expected node content"},
		"startswith of a list":         {`startswith(["a"], "a")`, "string required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := eval(t, dir, tc.src)
			if !diags.HasErrors() {
				t.Fatalf("%s: want an error", tc.src)
			}
			if !strings.Contains(diags.Error(), tc.want) {
				t.Errorf("%s: error %q does not say %q", tc.src, diags.Error(), tc.want)
			}
		})
	}
}

// TestReplace: substrings wrapped in slashes are regular expressions, as in
// Terraform; others are replaced literally, everywhere.
func TestReplace(t *testing.T) {
	for src, want := range map[string]string{
		`replace("1 + 2 + 3", "+", "-")`:                     "1 - 2 - 3",
		`replace("hello world", "/w.*d/", "everybody")`:      "hello everybody",
		`replace("abc123", "/[0-9]+/", "N")`:                 "abcN",
		`replace("v1.2.3", "/v(\\d+)\\.(\\d+).*/", "$1-$2")`: "1-2",
		`replace("a/b", "/", "_")`:                           "a_b",
	} {
		got, diags := eval(t, t.TempDir(), src)
		if diags.HasErrors() || !got.RawEquals(cty.StringVal(want)) {
			t.Errorf("%s = %#v (%s), want %q", src, got, diags, want)
		}
	}
}

// TestTemplateStringDeep: a template string nested past the limits is an
// argument error, not a stack overflow of HCL's template parser.
func TestTemplateStringDeep(t *testing.T) {
	f := Functions(t.TempDir())["templatestring"]
	for _, src := range []string{strings.Repeat("${", 1<<18), strings.Repeat("%{if true}", 1<<16)} {
		_, err := f.Call([]cty.Value{cty.StringVal(src), cty.EmptyObjectVal})
		if err == nil || !strings.Contains(err.Error(), "nest") {
			t.Errorf("templatestring(%.12q...): %v", src, err)
		}
	}
}
