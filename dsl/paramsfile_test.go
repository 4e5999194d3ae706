package dsl

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestLoadParamsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prod.zrunparams")
	src := "# comment\nversion = \"1.4.2\"\nreplicas = 3\nzones = [\"a\", \"b\"]\nlabels = { team = \"ops\" }\nsum = 1 + 2\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	pf, diags := LoadParamsFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := map[string]cty.Value{
		"version":  cty.StringVal("1.4.2"),
		"replicas": cty.NumberIntVal(3),
		"zones":    cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"labels":   cty.ObjectVal(map[string]cty.Value{"team": cty.StringVal("ops")}),
		"sum":      cty.NumberIntVal(3),
	}
	var names []string
	for _, v := range pf.Values {
		names = append(names, v.Name)
		if !v.Value.RawEquals(want[v.Name]) {
			t.Errorf("%s = %#v, want %#v", v.Name, v.Value, want[v.Name])
		}
	}
	if got := strings.Join(names, " "); got != "version replicas zones labels sum" {
		t.Errorf("values in order %q, want source order", got)
	}
	if r := pf.Values[1].NameRange; r.Filename != path || r.Start.Line != 3 || r.Start.Column != 1 {
		t.Errorf("replicas at %s, want %s:3:1", r, path)
	}
}

func TestLoadParamsFileInvalid(t *testing.T) {
	tests := map[string]struct {
		src     string
		summary string
		line    int // 0: no subject
		notIn   string
	}{
		"reference":      {src: "a = 1\npassword = hunter2secret\n", summary: "References not allowed", line: 2, notIn: "hunter2secret"},
		"reference deep": {src: "a = [1, var.x]\n", summary: "References not allowed", line: 1},
		"interpolation":  {src: "a = \"${env.x}\"\n", summary: "References not allowed", line: 1},
		"function":       {src: "\n\nb = upper(\"x\")\n", summary: "Function calls not allowed", line: 3},
		"block":          {src: "param \"x\" {}\n", summary: "Unexpected \"param\" block", line: 1},
		"syntax":         {src: "a = \"unterminated\n", summary: "", line: 1},
		"duplicate":      {src: "a = 1\na = 2\n", summary: "Attribute redefined", line: 2},
		"deep nesting":   {src: "a = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", summary: "", line: 1},
		"huge number":    {src: "a = 1e99999999\n", summary: "Number out of range", line: 1},
		"missing":        {summary: "Failed to read params file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.hcl")
			if tc.src != "" {
				if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, diags := LoadParamsFile(path)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			d := diags[0]
			if tc.summary != "" && d.Summary != tc.summary {
				t.Errorf("summary %q, want %q (%v)", d.Summary, tc.summary, diags)
			}
			if tc.line > 0 && (d.Subject == nil || d.Subject.Filename != path || d.Subject.Start.Line != tc.line) {
				t.Errorf("subject %v, want %s:%d", d.Subject, path, tc.line)
			}
			if tc.notIn != "" && strings.Contains(diags.Error(), tc.notIn) {
				t.Errorf("the diagnostics quote the value: %v", diags)
			}
		})
	}
}

func TestLoadParamsFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	_, diags := LoadParamsFile(path)
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "not a regular file") || !strings.Contains(diags[0].Detail, path) {
		t.Errorf("want a read error naming the file, got %v", diags)
	}
}

// FuzzLoadParamsFile checks that no params file makes LoadParamsFile
// panic, and that every value it returns is a known constant.
func FuzzLoadParamsFile(f *testing.F) {
	for _, s := range []string{
		"version = \"1.4.2\"\nreplicas = 3\n",
		"zones = [\"a\", \"b\"]\nlabels = { team = \"ops\", n = 1 + 2 }\n",
		"a = var.x\nb = upper(\"x\")\nc = \"${1}\"\n",
		"param \"x\" {}\n",
		"a = [[[[[[]]]]]]\n",
		"a = <<EOT\nhello\nEOT\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		path := filepath.Join(dir, "fuzz.zrunparams")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		pf, _ := LoadParamsFile(path)
		if pf == nil {
			t.Fatal("nil params file")
		}
		for _, v := range pf.Values {
			if v.Value != cty.NilVal && !v.Value.IsWhollyKnown() {
				t.Errorf("%s is not known", v.Name)
			}
		}
	})
}
