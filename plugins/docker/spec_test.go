package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// Bad arguments get a diagnostic at the argument, before anything runs.
func TestContainerValidate(t *testing.T) {
	base := func(kv ...any) map[string]any {
		a := map[string]any{"name": "web", "image": "app:1"}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i].(string)] = kv[i+1]
		}
		return a
	}
	tests := map[string]struct {
		action  string
		args    map[string]any
		summary string
		path    cty.Path
	}{
		"short name":      {"container", base("name", "w"), "Invalid container name", argPath("name")},
		"name with slash": {"container", base("name", "a/b"), "Invalid container name", argPath("name")},
		"candidate name":  {"container", base("name", "web--zrun-next"), "Reserved container name", argPath("name")},
		"old name":        {"container", base("name", "web--zrun-old"), "Reserved container name", argPath("name")},
		"empty image":     {"container", base("image", ""), "Empty image", argPath("image")},
		"bad port":        {"container", base("ports", []string{"8080:8080", "8080:http"}), "Invalid port", argPath("ports").IndexInt(1)},
		"volume no path":  {"container", base("volumes", []string{"data"}), "Invalid volume", argPath("volumes").IndexInt(0)},
		"volume relative": {"container", base("volumes", []string{"data:var/lib"}), "Invalid volume", argPath("volumes").IndexInt(0)},
		"volume mode":     {"container", base("volumes", []string{"/srv:/srv", "data:/x:rx"}), "Invalid volume", argPath("volumes").IndexInt(1)},
		"restart":         {"container", base("restart", "sometimes"), "Invalid restart policy", argPath("restart")},
		"memory":          {"container", base("memory", "lots"), "Invalid size", argPath("memory")},
		"reservation":     {"container", base("memory_reservation", "-1M"), "Invalid size", argPath("memory_reservation")},
		"cpus":            {"container", base("cpus", 0), "Invalid CPUs", argPath("cpus")},
		"cpu shares":      {"container", base("cpu_shares", 1), "Invalid CPU shares", argPath("cpu_shares")},
		"health cmd":      {"container", base("health_cmd", []string{"curl", "-f", "http://x"}), "Invalid health command", argPath("health_cmd")},
		"health none":     {"container", base("health_cmd", []string{"NONE", "x"}), "Invalid health command", argPath("health_cmd")},
		"interval":        {"container", base("health_interval", "5"), "Invalid duration", argPath("health_interval")},
		"retries":         {"container", base("health_retries", -1), "Invalid health retries", argPath("health_retries")},
		"ready zero":      {"container", base("ready_timeout", "0s"), "Invalid duration", argPath("ready_timeout")},
		"stop negative":   {"container", base("stop_timeout", "-1s"), "Invalid duration", argPath("stop_timeout")},
		"http_check":      {"container", base("http_check", "health"), "Invalid http_check", argPath("http_check")},
		"http_check port": {"container", base("http_check", "70000/health"), "Invalid http_check", argPath("http_check")},
		"zrun label":      {"container", base("labels", map[string]string{"zrun.role": "x"}), "Reserved label", argPath("labels").IndexString("zrun.role")},
		"env name":        {"container", base("env", map[string]string{"A=B": "x"}), "Invalid environment variable name", argPath("env")},
		"empty alias":     {"container", base("networks", map[string][]string{"n": {""}}), "Empty alias", argPath("networks").IndexString("n").IndexInt(0)},
		"stop container":  {"stop", map[string]any{"container": ""}, "Empty container", argPath("container")},
		"stop timeout":    {"stop", map[string]any{"container": "web", "stop_timeout": "soon"}, "Invalid duration", argPath("stop_timeout")},
		"remove empty":    {"remove", map[string]any{"container": ""}, "Empty container", argPath("container")},
		"network name":    {"network", map[string]any{"name": ""}, "Empty network name", argPath("name")},
		"network label":   {"network", map[string]any{"name": "n", "labels": map[string]string{"zrun.managed": "no"}}, "Reserved label", argPath("labels").IndexString("zrun.managed")},
		"volume name":     {"volume", map[string]any{"name": "x"}, "Invalid volume name", argPath("name")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := sdktest.Run(t, Plugin(), tc.action, tc.args)
			if !slices.ContainsFunc(res.Diagnostics, func(d sdk.Diagnostic) bool {
				return d.Severity == sdk.Error && d.Summary == tc.summary && d.Path.Equals(tc.path)
			}) {
				t.Errorf("want a %q diagnostic at %#v, got %#v", tc.summary, tc.path, res.Diagnostics)
			}
		})
	}
}

func mustParse(t *testing.T, a containerArgs) *desired {
	t.Helper()
	d, diags := parseContainer(a, sdk.Known{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	return d
}

// The labels record the spec with env values hashed, and the hash of
// that; two ways of writing one spec are one spec.
func TestSpecLabel(t *testing.T) {
	a := containerArgs{Name: "web", Image: "sha256:0123", Env: map[string]string{"API_TOKEN": "s3cret", "A": "1"}}
	js, hash := mustParse(t, a).spec.label()
	sum := sha256.Sum256([]byte("s3cret"))
	if strings.Contains(js, "s3cret") || !strings.Contains(js, `"API_TOKEN":"sha256:`+hex.EncodeToString(sum[:])[:16]+`"`) {
		t.Errorf("zrun.spec.json %s", js)
	}
	if sum := sha256.Sum256([]byte(js)); hash != hex.EncodeToString(sum[:]) {
		t.Errorf("zrun.spec %s is not the sha256 of zrun.spec.json", hash)
	}
	if want := `{"name":"web","image":"sha256:0123","env":{"A":"sha256:6b86b273ff34fce1","API_TOKEN":"sha256:` + hex.EncodeToString(sum[:])[:16] + `"},"restart":"no","stop_timeout":"10s"}`; js != want {
		t.Errorf("zrun.spec.json\n%s\nwant\n%s", js, want)
	}

	same := map[string][2]containerArgs{
		"durations": {{StopTimeout: ctrPtr("2s"), HealthInterval: ctrPtr("1m")}, {StopTimeout: ctrPtr("2000ms"), HealthInterval: ctrPtr("60s")}},
		"sizes":     {{Memory: ctrPtr("512M")}, {Memory: ctrPtr("512m")}},
		"empty":     {{Env: map[string]string{}, Command: []string{}, Networks: map[string][]string{}}, {}},
		"defaults":  {{Restart: ctrPtr("no"), StopTimeout: ctrPtr("10s")}, {}},
		"gate only": {{HTTPCheck: ctrPtr("8080/health"), ReadyTimeout: ctrPtr("5s")}, {}},
	}
	differ := map[string][2]containerArgs{
		"env value":   {{Env: map[string]string{"A": "1"}}, {Env: map[string]string{"A": "2"}}},
		"port order":  {{Ports: []string{"80:80", "81:81"}}, {Ports: []string{"81:81", "80:80"}}},
		"alias":       {{Networks: map[string][]string{"n": {}}}, {Networks: map[string][]string{"n": {"web"}}}},
		"health":      {{}, {HealthCmd: []string{"NONE"}}},
		"stop":        {{}, {StopTimeout: ctrPtr("3s")}},
		"cpu":         {{CPUs: ctrPtr(0.5)}, {CPUs: ctrPtr(1.0)}},
		"entrypoint":  {{Command: []string{"a"}}, {Entrypoint: []string{"a"}}},
		"user labels": {{Labels: map[string]string{"a": "1"}}, {}},
	}
	hashOf := func(a containerArgs) string {
		a.Name, a.Image = "web", "sha256:0123"
		_, h := mustParse(t, a).spec.label()
		return h
	}
	for name, pair := range same {
		if hashOf(pair[0]) != hashOf(pair[1]) {
			t.Errorf("%s: the same spec hashes differently", name)
		}
	}
	for name, pair := range differ {
		if hashOf(pair[0]) == hashOf(pair[1]) {
			t.Errorf("%s: different specs hash the same", name)
		}
	}
}

// A candidate is the spec without host ports and aliases; the first
// network (sorted) is given at create.
func TestContainerConfig(t *testing.T) {
	d := mustParse(t, containerArgs{
		Name: "web", Image: "app:1", Env: map[string]string{"B": "2", "A": "1"},
		Ports: []string{"127.0.0.1:9090:8080"}, Networks: map[string][]string{"zeta": {"z"}, "alpha": {"web", "www"}},
		Restart: ctrPtr("on-failure:3"), CPUs: ctrPtr(1.5), Memory: ctrPtr("64M"), StopTimeout: ctrPtr("1500ms"),
		Volumes: []string{"data:/data", "/srv/conf:/conf:ro"},
	})
	d.spec.Image = "sha256:0123"
	cfg, host, nets := d.containerConfig("web", map[string]string{"l": "v"}, false)
	if diff := cmp.Diff([]string{"A=1", "B=2"}, cfg.Env); diff != "" {
		t.Errorf("env: %s", diff)
	}
	if *cfg.StopTimeout != 2 || cfg.Image != "sha256:0123" || cfg.Labels["l"] != "v" {
		t.Errorf("config %+v", cfg)
	}
	if host.NetworkMode != "alpha" || host.RestartPolicy != (container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}) ||
		host.NanoCPUs != 1_500_000_000 || host.Memory != 64<<20 || len(host.Mounts) != 2 || !host.Mounts[1].ReadOnly {
		t.Errorf("host config %+v", host)
	}
	if b := host.PortBindings[nat.Port("8080/tcp")]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "9090" {
		t.Errorf("port bindings %v", host.PortBindings)
	}
	if ep := nets.EndpointsConfig["alpha"]; ep == nil || !cmp.Equal(ep.Aliases, []string{"web", "www"}) || len(nets.EndpointsConfig) != 1 {
		t.Errorf("networking %+v", nets.EndpointsConfig)
	}
	if !d.publishes() || d.firstNetwork() != "alpha" {
		t.Errorf("publishes %v, first network %s", d.publishes(), d.firstNetwork())
	}

	cfg, host, nets = d.containerConfig("web--zrun-next", nil, true)
	if len(host.PortBindings) != 0 || len(nets.EndpointsConfig["alpha"].Aliases) != 0 {
		t.Errorf("the candidate has host ports %v or aliases %v", host.PortBindings, nets.EndpointsConfig["alpha"].Aliases)
	}
	if _, ok := cfg.ExposedPorts[nat.Port("8080/tcp")]; !ok {
		t.Errorf("the candidate does not expose 8080: %v", cfg.ExposedPorts)
	}
}

// A plan's field lines: env by name only, images short, sizes readable.
func TestSpecDiff(t *testing.T) {
	old := spec{Name: "web", Image: "sha256:aaaaaaaaaaaaaaaaaaaa", Env: map[string]string{"A": "x", "B": "y"}, Restart: "no", StopTimeout: "10s"}
	cur := old
	cur.Image, cur.Env, cur.Restart = "sha256:bbbbbbbbbbbbbbbbbbbb", map[string]string{"A": "z", "C": "y"}, "always"
	cur.Command, cur.Memory = []string{"serve", "--port=80"}, 1<<30
	want := []string{
		"  image: sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb",
		`  command: (none) -> ["serve","--port=80"]`,
		"  env.A: changed", "  env.B: removed", "  env.C: added",
		`  restart: "no" -> "always"`,
		"  memory: (none) -> 1GiB",
	}
	if diff := cmp.Diff(want, specDiff(old.redacted(), cur.redacted())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
