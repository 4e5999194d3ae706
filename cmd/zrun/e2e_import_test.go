//go:build compose

// Run with -tags compose (make test does): the importer is in zrun-compose,
// the zrun built with it (cmd_import.go), which these tests build beside
// zrun once.

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/compose"
	"github.com/zrun-dev/zrun/engine"
	dockerplugin "github.com/zrun-dev/zrun/plugins/docker"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// The guide's environments, as the import is told about them.
var importEnvs = []string{"dev", "stage", "prod"}

// importArgs is `zrun import compose` on the guide's files.
func importArgs() []string {
	args := []string{"import", "compose", "-f", "docker-compose.yml"}
	for _, e := range importEnvs {
		args = append(args, "--env", e+"=docker-compose.override."+e+".yml", "--env-file", e+"=.env."+e, "--profile", e+"="+e)
	}
	return args
}

// prodSecrets are what prod's deploying machine exports (the guide's
// ${ZAKUPAI_DB_PASSWORD}...).
var prodSecrets = []string{
	"ZAKUPAI_DB_PASSWORD=prod-db-pass-1", "ZAKUPAI_PROD_API_KEY=prod-api-key-2",
	"TELEGRAM_PROD_TOKEN=prod-telegram-3", "OPENAI_PROD_KEY=prod-openai-4",
	"GRAFANA_ADMIN_PASSWORD=prod-grafana-5",
}

var (
	composeOnce sync.Once
	composeErr  error
)

// needComposeBinary builds zrun-compose into binDir, where zrun finds it.
func needComposeBinary(t *testing.T) {
	t.Helper()
	composeOnce.Do(func() {
		build := exec.Command("go", "build", "-tags", "compose", "-o", filepath.Join(binDir, composeBinary), "./cmd/zrun")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			composeErr = fmt.Errorf("building %s: %v\n%s", composeBinary, err, out)
		}
	})
	if composeErr != nil {
		t.Fatal(composeErr)
	}
}

// composeProject copies testdata/compose into a fresh folder, and makes
// sure zrun-compose is built.
func composeProject(t *testing.T) string {
	t.Helper()
	needComposeBinary(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "testdata", "compose"))); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// TestImportCompose runs the built zrun on the guide's compose files: it
// writes the workflow and the three environments, never a secret in
// clear, refuses to overwrite them, and zrun validate accepts them.
func TestImportCompose(t *testing.T) {
	dir := composeProject(t)
	r := zrunIn(t, dir, prodSecrets, append([]string{"-C", dir}, importArgs()...)...)
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "Wrote workflows/containers.hcl", "Wrote environments/prod.hcl",
		"prod: secret.db_password from the environment variable ZAKUPAI_DB_PASSWORD",
		"stage: secret.db_password from .env.stage, key DB_PASSWORD")
	wantContains(t, "stderr", oneLine(r.stderr), "Service gateway: build is not imported",
		"docker-compose.yml:24:5", "Secret to move")

	secrets := secretValues(t, dir)
	for _, name := range []string{"workflows/containers.hcl", "environments/dev.hcl", "environments/stage.hcl", "environments/prod.hcl"} {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(src), s) {
				t.Errorf("%s holds the secret %q in clear", name, s)
			}
		}
	}

	again := zrunIn(t, dir, prodSecrets, append([]string{"-C", dir}, importArgs()...)...)
	wantCode(t, again, exitUsage)
	wantContains(t, "stderr", oneLine(again.stderr), "already exist", "nothing was written", "--force")

	v := zrun(t, dir, nil, "validate")
	if _, ok := dockerplugin.Plugin().Schema().Actions["container"]; !ok {
		// Until docker.container lands, validate knows no such action;
		// TestImportComposeRoundTrip validates against its contract.
		wantContains(t, "validate", v.stderr, "docker.container")
		t.Logf("the docker plugin has no container action yet: validate said\n%s", v)
		return
	}
	wantCode(t, v, 0)
}

// TestImportComposeBadFile: a compose file that is not YAML is reported
// at its file, line and column, and nothing is written.
func TestImportComposeBadFile(t *testing.T) {
	dir := composeProject(t)
	bad := "services:\n  calc-service:\n    environment: [LOG_LEVEL=DEBUG\n    restart: always\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.override.dev.yml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := zrunIn(t, dir, nil, append([]string{"-C", dir}, importArgs()...)...)
	wantCode(t, r, exitConfig)
	wantContains(t, "stderr", r.stderr, "Invalid YAML in a compose file", filepath.Join(dir, "docker-compose.override.dev.yml")+":2:")
	if _, err := os.Stat(filepath.Join(dir, "workflows")); err == nil {
		t.Error("workflows/ was written after an error")
	}
}

// secretValues are the values of the guide's dotenv files that look like
// secrets, and prod's: none may be written into HCL.
func secretValues(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, e := range importEnvs {
		src, err := os.ReadFile(filepath.Join(dir, ".env."+e))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && compose.IsSecret(k) && !strings.HasPrefix(v, "${") {
				out = append(out, strings.Fields(v)[0])
			}
		}
	}
	for _, kv := range prodSecrets {
		_, v, _ := strings.Cut(kv, "=")
		out = append(out, v)
	}
	return append(out, "stage_admin_password")
}

// TestImportComposeRoundTrip: in each environment, the containers
// compose runs (after overrides, profiles and env files) are exactly the
// docker.container arguments the engine evaluates from the written HCL,
// secrets included, and the services compose does not run are skipped.
// The engine runs the workflow for real against a stand-in of the docker
// plugin whose schema is the contract's (compose.ContainerArgs, checked
// against the real plugin by TestImportComposeSchema).
func TestImportComposeRoundTrip(t *testing.T) {
	dir := composeProject(t)
	for _, kv := range prodSecrets {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	wantCode(t, zrunIn(t, dir, nil, append([]string{"-C", dir}, importArgs()...)...), 0)

	// What compose runs, from the same files and environment.
	res, diags := compose.Convert(t.Context(), importOptions(t, dir))
	if diags.HasErrors() {
		t.Fatal(diags)
	}

	// The secrets the import said to add, added.
	appendLine(t, filepath.Join(dir, ".env.stage"), "GF_SECURITY_ADMIN_PASSWORD=stage_admin_password")
	appendLine(t, filepath.Join(dir, ".env.dev"), "GF_SECURITY_ADMIN_PASSWORD=grafana-does-not-run-in-dev")

	cfg, loadDiags := dsl.NewParser().LoadProject(dir)
	if loadDiags.HasErrors() {
		t.Fatal(loadDiags)
	}
	stub := newDockerStub()
	r := engine.New(engine.Options{Config: cfg, Plugins: stub})
	if vd := r.Validate(t.Context()); vd.HasErrors() {
		t.Fatalf("zrun validate of the import:\n%s", vd)
	}
	for _, env := range importEnvs {
		t.Run(env, func(t *testing.T) {
			stub.reset()
			run, runDiags := r.Run(t.Context(), engine.RunRequest{Workflow: res.Workflow, Env: env})
			if runDiags.HasErrors() {
				t.Fatal(runDiags)
			}
			if run.Error != "" {
				t.Fatalf("run failed: %s", run.Error)
			}
			want := res.Expected(env)
			got := stub.containers()
			for step := range got {
				if _, ok := want[step]; !ok {
					t.Errorf("step.%s ran, but compose does not run %s in %s", step, step, env)
				}
			}
			for step, args := range want {
				g, ok := got[step]
				if !ok {
					t.Errorf("step.%s did not run, but compose runs it in %s", step, env)
					continue
				}
				for _, a := range compose.ContainerArgs {
					w := args[a.Name]
					gv, _ := g.GetAttr(a.Name).UnmarkDeep()
					if w == cty.NilVal {
						if !gv.IsNull() {
							t.Errorf("step.%s: %s = %s, compose sets none", step, a.Name, show(gv))
						}
						continue
					}
					wc, err := convert.Convert(w, a.Type)
					if err != nil {
						t.Fatalf("step.%s: %s: %v", step, a.Name, err)
					}
					if !gv.RawEquals(wc) {
						t.Errorf("step.%s: %s differs from compose's: %s", step, a.Name, difference(gv, wc))
					}
				}
			}
		})
	}
}

// importOptions are the options the import was run with in dir.
func importOptions(t *testing.T, dir string) compose.Options {
	t.Helper()
	abs := func(p string) string { return filepath.Join(dir, p) }
	var envs, profiles, envFiles []string
	for _, e := range importEnvs {
		envs = append(envs, e+"="+abs("docker-compose.override."+e+".yml"))
		profiles = append(profiles, e+"="+e)
		envFiles = append(envFiles, e+"="+abs(".env."+e))
	}
	opts, err := composeOptions([]string{abs("docker-compose.yml")}, envs, profiles, envFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Out, opts.Environ = dir, os.Environ()
	return opts
}

// show prints a value in a failure (the secrets are the test's own).
func show(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.GoString()
}

// difference says how got differs from want: for maps, by key.
func difference(got, want cty.Value) string {
	if got.IsNull() || want.IsNull() || !got.Type().IsMapType() {
		return show(got) + ", compose gives " + show(want)
	}
	var out []string
	g, w := got.AsValueMap(), want.AsValueMap()
	for k, v := range w {
		if x, ok := g[k]; !ok || !x.RawEquals(v) {
			out = append(out, fmt.Sprintf("%s: %s, compose %s", k, show(x), show(v)))
		}
	}
	for k, x := range g {
		if _, ok := w[k]; !ok {
			out = append(out, fmt.Sprintf("%s: %s, compose has none", k, show(x)))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// TestImportComposeSchema checks the arguments the import writes against
// the docker plugin's schema, once it has the actions.
func TestImportComposeSchema(t *testing.T) {
	s := dockerplugin.Plugin().Schema()
	for action, args := range map[string][]compose.Arg{"container": compose.ContainerArgs, "network": compose.NetworkArgs, "volume": compose.VolumeArgs} {
		a, ok := s.Actions[action]
		if !ok {
			t.Logf("the docker plugin has no %s action yet: its arguments are checked against docs/docker-plugin.md only", action)
			continue
		}
		for _, want := range args {
			got := a.Arg(want.Name)
			if got == nil {
				t.Errorf("docker.%s has no argument %s, which the import writes", action, want.Name)
				continue
			}
			if !got.Type.Equals(want.Type) {
				t.Errorf("docker.%s's %s is %s, the import writes %s", action, want.Name, got.Type.FriendlyName(), want.Type.FriendlyName())
			}
			if got.Required != want.Required {
				t.Errorf("docker.%s's %s: required %v, the import thinks %v", action, want.Name, got.Required, want.Required)
			}
		}
	}
}

// dockerStub serves docker.container, docker.network and docker.volume
// in process with the contract's arguments, recording what each step got.
type dockerStub struct {
	mu    sync.Mutex
	calls map[string]map[string]cty.Value // action → step → args
}

func newDockerStub() *dockerStub { return &dockerStub{calls: map[string]map[string]cty.Value{}} }

func (d *dockerStub) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = map[string]map[string]cty.Value{}
}

// containers returns docker.container's arguments by step name.
func (d *dockerStub) containers() map[string]cty.Value {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]cty.Value{}
	for step, args := range d.calls["container"] {
		out[strings.TrimPrefix(step, "step.")] = args
	}
	return out
}

func (d *dockerStub) Client(_ context.Context, name string) (sdk.Client, error) {
	if name != "docker" {
		return nil, sdk.ErrUnknownPlugin
	}
	p := &sdk.Plugin{Name: "docker", Version: "0.0.0-stub"}
	for action, args := range map[string][]compose.Arg{"container": compose.ContainerArgs, "network": compose.NetworkArgs, "volume": compose.VolumeArgs} {
		p.Actions = append(p.Actions, &stubAction{d: d, name: action, args: args})
	}
	return sdk.InProcess(p), nil
}

type stubAction struct {
	d    *dockerStub
	name string
	args []compose.Arg
}

func (a *stubAction) Schema() *schema.Action {
	s := &schema.Action{Name: a.name, Description: "A stand-in of docker." + a.name + "."}
	for _, arg := range a.args {
		s.Args = append(s.Args, &schema.Attribute{Name: arg.Name, Type: arg.Type, Required: arg.Required})
	}
	return s
}

func (a *stubAction) Run(_ context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	if a.d.calls[a.name] == nil {
		a.d.calls[a.name] = map[string]cty.Value{}
	}
	a.d.calls[a.name][req.Info.Step] = req.Args
	return &sdk.RunResponse{Outputs: cty.EmptyObjectVal}, nil
}

// Interface guards
var (
	_ engine.Plugins = (*dockerStub)(nil)
	_ sdk.Action     = (*stubAction)(nil)
)
