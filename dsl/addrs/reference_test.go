package addrs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func parseTraversal(t *testing.T, src string) hcl.Traversal {
	t.Helper()
	tr, diags := hclsyntax.ParseTraversalAbs([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("bad traversal %q: %s", src, diags)
	}
	return tr
}

func TestParseRef(t *testing.T) {
	tests := map[string]struct {
		src        string
		want       Referenceable
		wantString string
		wantErr    string
	}{
		"param":          {src: "param.attempts", want: Param{"attempts"}, wantString: "param.attempts"},
		"param nested":   {src: "param.cfg.a[0]", want: Param{"cfg"}, wantString: "param.cfg.a[0]"},
		"env":            {src: "env.services.gateway", want: EnvValue{"services"}, wantString: "env.services.gateway"},
		"step":           {src: "step.build.image", want: StepRef{"build"}, wantString: "step.build.image"},
		"step instance":  {src: `step.gw["calc"].status`, want: StepRef{"gw"}, wantString: `step.gw["calc"].status`},
		"each key":       {src: "each.key", want: Each{EachKey}, wantString: "each.key"},
		"each value":     {src: "each.value.url", want: Each{EachValue}, wantString: "each.value.url"},
		"run id":         {src: "run.id", want: RunAttr{RunID}, wantString: "run.id"},
		"run started_at": {src: "run.started_at", want: RunAttr{RunStartedAt}, wantString: "run.started_at"},
		"unknown root":   {src: "foo.bar", wantErr: "Invalid reference"},
		"param alone":    {src: "param", wantErr: "Invalid reference"},
		"param index":    {src: `param["x"]`, wantErr: "Invalid reference"},
		"step alone":     {src: "step", wantErr: "Invalid reference"},
		"each alone":     {src: "each", wantErr: "Invalid reference"},
		"each unknown":   {src: "each.index", wantErr: "Invalid reference"},
		"run unknown":    {src: "run.x", wantErr: "Invalid reference"},
		"secret":         {src: "secret.db_password", want: Secret{"db_password"}, wantString: "secret.db_password"},
		"secret alone":   {src: "secret", wantErr: "Invalid reference"},
		"secret index":   {src: `secret["db"]`, wantErr: "Invalid reference"},
		"host reserved":  {src: "host.web", wantErr: "Unsupported reference"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ref, diags := ParseRef(parseTraversal(t, tc.src))
			if tc.wantErr != "" {
				if len(diags) != 1 || diags[0].Summary != tc.wantErr || diags[0].Subject == nil {
					t.Fatalf("want one %q diagnostic with a subject, got %v", tc.wantErr, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics: %s", diags)
			}
			if diff := cmp.Diff(tc.want, ref.Subject); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
			if got := ref.String(); got != tc.wantString {
				t.Errorf("String() = %q, want %q", got, tc.wantString)
			}
			if ref.SourceRange.Start.Column != 1 {
				t.Errorf("range starts at column %d, want 1", ref.SourceRange.Start.Column)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	tests := map[string]struct {
		src     string
		want    string
		wantErr bool
	}{
		"two parts":   {src: "http.check", want: "http.check"},
		"dashes":      {src: "my-plugin.do-it", want: "my-plugin.do-it"},
		"one part":    {src: "http", wantErr: true},
		"three parts": {src: "http.check.x", wantErr: true},
		"index":       {src: `http["check"]`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, diags := ParseAction(parseTraversal(t, tc.src))
			if tc.wantErr {
				if len(diags) != 1 || diags[0].Summary != "Invalid action address" {
					t.Fatalf("want Invalid action address, got %v", diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics: %s", diags)
			}
			if a.String() != tc.want {
				t.Errorf("got %q, want %q", a.String(), tc.want)
			}
		})
	}
}
