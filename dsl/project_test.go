package dsl

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

func TestLoadProject(t *testing.T) {
	cfg, diags := NewParser().LoadProject("testdata/project")
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %s", diags)
	}
	if cfg.Project.Name != "sample" {
		t.Errorf("project name %q", cfg.Project.Name)
	}
	wantFiles := []string{
		"environments/dev.hcl",
		"environments/prod.hcl",
		"environments/stage.hcl",
		"workflows/deploy.hcl",
		"zrun.hcl",
	}
	if diff := cmp.Diff(wantFiles, sortedKeys(cfg.Files)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if len(cfg.Hash) != 64 {
		t.Errorf("hash %q is not hex sha256", cfg.Hash)
	}

	wf := cfg.Workflows["deploy"]
	if wf == nil {
		t.Fatal("workflow deploy missing")
	}
	if diff := cmp.Diff([]string{"pull", "up"}, wf.StepOrder); diff != "" {
		t.Errorf("step order (-want +got):\n%s", diff)
	}
	up := wf.Steps["up"]
	if got := up.Action.String(); got != "docker.run" {
		t.Errorf("action %q", got)
	}
	if len(up.DependsOn) != 1 || up.ForEach == nil || up.When != nil {
		t.Errorf("meta-arguments not decoded: %+v", up)
	}
	// The body keeps only the action's own arguments.
	attrs, diags := up.Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diff := cmp.Diff([]string{"name"}, sortedKeys(attrs)); diff != "" {
		t.Errorf("body arguments (-want +got):\n%s", diff)
	}

	prod := cfg.Environments["prod"]
	want := cty.ObjectVal(map[string]cty.Value{
		"api": cty.ObjectVal(map[string]cty.Value{
			"port": cty.NumberIntVal(443),
			"tags": cty.TupleVal([]cty.Value{cty.StringVal("stage")}),
		}),
		"web": cty.ObjectVal(map[string]cty.Value{"port": cty.NumberIntVal(80)}),
	})
	if got := prod.Values()["services"]; !got.RawEquals(want) {
		t.Errorf("prod services = %#v, want %#v", got, want)
	}
	if got := prod.Values()["log_level"]; !got.RawEquals(cty.StringVal("INFO")) {
		t.Errorf("prod log_level = %#v", got)
	}
	if got, _ := prod.ValueRange("log_level"); got.Filename != "environments/stage.hcl" {
		t.Errorf("log_level range in %s, want stage.hcl", got)
	}
	if h, _ := prod.Host("local"); h == nil || h.Address != "10.0.0.1" || h.User != "deploy" {
		t.Errorf("prod host = %+v", h)
	}
	if h, _ := cfg.Environments["stage"].Host("local"); h == nil || h.Address != "127.0.0.1" {
		t.Errorf("stage inherits host = %+v", h)
	}
}

func TestLoadProjectMissingDir(t *testing.T) {
	for name, dir := range map[string]string{
		"missing": filepath.Join(t.TempDir(), "nope"),
		"file":    "testdata/project/zrun.hcl",
	} {
		t.Run(name, func(t *testing.T) {
			_, diags := NewParser().LoadProject(dir)
			if len(diags) != 1 || diags[0].Summary != "Project folder not found" {
				t.Errorf("got %v", diags)
			}
		})
	}
}

func TestLoadProjectAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "workflows", "a.hcl"), "workflow \"w\" {}\n")
	writeFile(t, filepath.Join(dir, "workflows", "b.hcl"), "workflow \"w\" {}\nworkflow \"v\" {}\n")
	writeFile(t, filepath.Join(dir, "environments", "x.hcl"), "environment \"dev\" {}\n")
	writeFile(t, filepath.Join(dir, "notes.hcl"), "this is not loaded\n")

	cfg, diags := NewParser().LoadProject(dir)
	if len(diags) != 1 || diags[0].Summary != "Duplicate workflow" ||
		diags[0].Subject.Filename != "workflows/b.hcl" {
		t.Fatalf("want one duplicate in b.hcl, got %v", diags)
	}
	if cfg.Workflows["v"] == nil || cfg.Environments["dev"] == nil {
		t.Errorf("partial config lost declarations: %+v", cfg)
	}
	if cfg.Project == nil || len(cfg.Workflows) != 2 {
		t.Errorf("config = %+v", cfg)
	}

	// The hash changes with content and not with the project's location.
	again, _ := NewParser().LoadProject(dir)
	if again.Hash != cfg.Hash {
		t.Error("hash is not stable")
	}
	moved := t.TempDir()
	for _, rel := range []string{"workflows/a.hcl", "workflows/b.hcl", "environments/x.hcl"} {
		src, _ := os.ReadFile(filepath.Join(dir, rel))
		writeFile(t, filepath.Join(moved, rel), string(src))
	}
	if m, _ := NewParser().LoadProject(moved); m.Hash != cfg.Hash {
		t.Error("hash depends on the project's folder")
	}
	writeFile(t, filepath.Join(dir, "environments", "x.hcl"), "environment \"prod\" {}\n")
	if changed, _ := NewParser().LoadProject(dir); changed.Hash == cfg.Hash {
		t.Error("hash did not change with content")
	}
}

func TestStepDecoding(t *testing.T) {
	cfg, diags := loadFixture(t, "testdata/valid/full.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	wf := cfg.Workflows["health-check"]
	if wf.Timeout == nil || wf.Timeout.Duration != 5*time.Minute {
		t.Errorf("timeout = %v", wf.Timeout)
	}
	gw := wf.Steps["gateway"]
	type summary struct {
		Action          string
		Timeout         time.Duration
		ContinueOnError bool
		Attempts        int
		Delay, MaxDelay time.Duration
		Backoff         float64
		HasWhen, HasFor bool
		HasTarget       bool
		BodyBlocks      int
	}
	content, _, _ := gw.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "header", LabelNames: []string{"name"}}}})
	got := summary{
		Action: gw.Action.String(), Timeout: gw.Timeout.Duration, ContinueOnError: gw.ContinueOnError,
		Attempts: gw.Retry.Attempts, Delay: gw.Retry.Delay.Duration, MaxDelay: gw.Retry.MaxDelay.Duration,
		Backoff: gw.Retry.Backoff, HasWhen: gw.When != nil, HasFor: gw.ForEach != nil, HasTarget: gw.Target != nil,
		BodyBlocks: len(content.Blocks),
	}
	want := summary{
		Action: "http.check", Timeout: 30 * time.Second, ContinueOnError: true,
		Attempts: 3, Delay: time.Second, MaxDelay: 30 * time.Second, Backoff: 2,
		HasWhen: true, HasFor: true, HasTarget: true, BodyBlocks: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gateway (-want +got):\n%s", diff)
	}
	if b := wf.Steps["backup"]; b.Workflow != "backup" || b.Action != nil {
		t.Errorf("backup step = %+v", b)
	}
	if diff := cmp.Diff([]string{"rollback"}, wf.OnFailureOrder); diff != "" {
		t.Errorf("on_failure (-want +got):\n%s", diff)
	}
	if n := wf.Finally["notify"]; n == nil || n.Kind != StepFinally {
		t.Errorf("finally step = %+v", n)
	}
	p := wf.Params["attempts"]
	if p.Required() || !p.Default.RawEquals(cty.NumberIntVal(6)) || !p.Type.Equals(cty.Number) {
		t.Errorf("param attempts = %+v", p)
	}
	if !wf.Params["token"].Required() {
		t.Error("param token should be required")
	}
	if rp := cfg.Project.RequiredPlugins["greet"]; rp == nil || rp.Version != ">= 0.1.0, < 2.0.0" {
		t.Errorf("required plugin = %+v", rp)
	}

	types, _ := loadFixture(t, "testdata/valid/types.hcl")
	tw := types.Workflows["types"]
	if got := tw.Params["flag"].Default; !got.RawEquals(cty.True) {
		t.Errorf("bool default converted to %#v", got)
	}
	if tw.Steps["noop"].Retry.Delay.Duration != time.Second || tw.Steps["noop"].Retry.Backoff != 1 {
		t.Errorf("retry defaults = %+v", tw.Steps["noop"].Retry)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
