package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

const guide = "../../testdata/compose"

// guideOptions imports the deployment guide's files: dev, then stage
// extending dev, then prod extending stage, each with its profile and
// .env file.
func guideOptions(t *testing.T, dir string) Options {
	t.Helper()
	opts := Options{Files: []string{filepath.Join(dir, "docker-compose.yml")}, Out: dir,
		Environ: []string{"ZAKUPAI_DB_PASSWORD=p1", "GRAFANA_ADMIN_PASSWORD=p2"}}
	prev := ""
	for _, e := range []string{"dev", "stage", "prod"} {
		opts.Envs = append(opts.Envs, Env{Name: e, Extends: prev, Profiles: []string{e},
			Files: []string{filepath.Join(dir, "docker-compose.override."+e+".yml")}, EnvFile: filepath.Join(dir, ".env."+e)})
		prev = e
	}
	return opts
}

func convertGuide(t *testing.T) (*Result, hcl.Diagnostics) {
	t.Helper()
	dir, err := filepath.Abs(guide)
	if err != nil {
		t.Fatal(err)
	}
	res, diags := Convert(t.Context(), guideOptions(t, dir))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return res, diags
}

// TestGuideContainers checks what the guide's files give each container,
// as docker compose would run it.
func TestGuideContainers(t *testing.T) {
	res, _ := convertGuide(t)
	dir, _ := filepath.Abs(guide)
	str := cty.StringVal
	list := func(s ...string) cty.Value { return cty.ListVal(stringVals(s)) }
	tests := map[string]struct {
		env, step string
		want      map[string]cty.Value
	}{
		"prod calc-service resources": {"prod", "calc-service", map[string]cty.Value{
			"memory": str("512M"), "memory_reservation": str("256M"), "cpus": cty.NumberFloatVal(0.5),
			"cpu_shares": cty.NumberIntVal(256), "restart": str("always"), "ports": list("7001:7001"),
		}},
		"dev calc-service hot reload": {"dev", "calc-service", map[string]cty.Value{
			"volumes": list(dir + "/services/calc-service:/app:ro"), "restart": str("unless-stopped"),
			"name": str("zakupai-calc-service-1"), "image": str("ghcr.io/zakupai/zakupai/calc-service:latest"),
			"health_cmd": list("CMD", "curl", "-f", "http://localhost:7001/health"), "health_interval": str("15s"),
			"health_retries": cty.NumberIntVal(5),
		}},
		"stage db": {"stage", "db", map[string]cty.Value{
			"name":     str("zakupai-db-stage"),
			"volumes":  list("zakupai_postgres_stage_data:/var/lib/postgresql/data", dir+"/db/stage-seed:/docker-entrypoint-initdb.d:ro"),
			"networks": cty.ObjectVal(map[string]cty.Value{"zakupai_zakupai": list("db", "postgres")}),
			"ports":    list("127.0.0.1:5432:5432"), "stop_timeout": str("30s"),
			"health_cmd": list("CMD-SHELL", "pg_isready -U zakupai_stage -d zakupai_stage"),
		}},
		"prod prometheus": {"prod", "prometheus", map[string]cty.Value{
			"command": list("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.retention.time=30d"),
			"volumes": list(dir+"/monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro", "zakupai_prometheus_prod_data:/prometheus"),
			"user":    str("65534:65534"),
		}},
		"prod db-backup": {"prod", "db-backup", map[string]cty.Value{
			"working_dir": str("/backups"),
			"volumes":     list("/opt/zakupai/backups:/backups", "/opt/zakupai/config/rclone.conf:/config/rclone.conf:ro"),
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := res.Expected(tc.env)[tc.step]
			if !ok {
				t.Fatalf("%s does not run in %s", tc.step, tc.env)
			}
			for arg, want := range tc.want {
				if g := got[arg]; g == cty.NilVal || !g.Equals(want).True() {
					t.Errorf("%s = %#v, want %#v", arg, g, want)
				}
			}
		})
	}
	env := res.Expected("prod")["billing-service"]["env"].AsValueMap()
	for k, want := range map[string]string{"PAYMENT_MODE": "production", "LOG_LEVEL": "WARNING", "DB_HOST": "zakupai-prod-db.cluster-xyz.us-west-2.rds.amazonaws.com", "DB_PASSWORD": "p1", "PORT": "7004"} {
		if env[k].AsString() != want {
			t.Errorf("prod billing-service env %s = %q, want %q", k, env[k].AsString(), want)
		}
	}
	for env, gone := range map[string][]string{"dev": {"prometheus", "grafana", "db-backup"}, "stage": {"db-backup"}, "prod": {"db"}} {
		for _, step := range gone {
			if _, ok := res.Expected(env)[step]; ok {
				t.Errorf("%s runs in %s, where its profiles are off", step, env)
			}
		}
	}
}

// TestGuideHCL checks how the differences are written: in the step what
// is the same everywhere, in each environment what differs from its
// parent, secrets as secret blocks and never in clear.
func TestGuideHCL(t *testing.T) {
	res, diags := convertGuide(t)
	wf := string(res.Files["workflows/containers.hcl"])
	stage := string(res.Files["environments/stage.hcl"])
	prod := string(res.Files["environments/prod.hcl"])
	for _, want := range []string{
		`step "calc-service" {`, `action     = docker.container`, `when       = env.containers.db.enabled`,
		`env.env_files[".env"]`, `DB_PASSWORD        = secret.db_password`, `memory              = env.containers.calc-service.memory`,
		`image = "postgres:15"`, `depends_on = [step.billing-service, step.calc-service, step.doc-service, step.network-zakupai, step.risk-engine]`,
		`step "network-zakupai" {`,
	} {
		if !strings.Contains(wf, want) {
			t.Errorf("the workflow lacks %s:\n%s", want, wf)
		}
	}
	for _, want := range []string{`extends = "dev"`, `restart = "always"`, "secret \"db_password\" {\n    dotenv = \".env.stage\"\n    key    = \"DB_PASSWORD\""} {
		if !strings.Contains(stage, want) {
			t.Errorf("stage lacks %s:\n%s", want, stage)
		}
	}
	for _, want := range []string{`memory             = "512M"`, `RATE_LIMIT_ENABLED = null`, "secret \"db_password\" {\n    env = \"ZAKUPAI_DB_PASSWORD\"", `env = "GRAFANA_ADMIN_PASSWORD"`} {
		if !strings.Contains(prod, want) {
			t.Errorf("prod lacks %s:\n%s", want, prod)
		}
	}
	// Stage inherits dev's: its own file says only what differs.
	if strings.Contains(stage, `image`) || strings.Contains(stage, "DB_PORT") {
		t.Errorf("stage repeats what it inherits:\n%s", stage)
	}
	for name, src := range res.Files {
		for _, secret := range []string{"zakupai_dev_password", "complex_stage_password_123", "sk-dev-key", "stage_admin_password", "AAAAAAAA", "p1", "p2"} {
			if strings.Contains(string(src), `"`+secret) {
				t.Errorf("%s holds %q in clear", name, secret)
			}
		}
	}
	var summaries []string
	for _, d := range diags {
		summaries = append(summaries, d.Summary)
		if d.Summary == "Not imported" && strings.Contains(d.Detail, "gateway: build") {
			if d.Subject == nil || filepath.Base(d.Subject.Filename) != "docker-compose.yml" || d.Subject.Start.Line != 24 {
				t.Errorf("gateway's build warning is at %v, want docker-compose.yml:24", d.Subject)
			}
		}
	}
	for _, want := range []string{"Not imported", "Secret to move", "Secret to provide", "Compose warns"} {
		if !strings.Contains(strings.Join(summaries, "|"), want) {
			t.Errorf("no %q warning among %v", want, summaries)
		}
	}
}

// TestBadCompose: a compose file compose-go refuses is one error at the
// file, line and column it is about.
func TestBadCompose(t *testing.T) {
	tests := map[string]struct {
		src       string
		line, col int
	}{
		"yaml":             {"services:\n  web:\n    image: nginx\n    ports: 1: 2\n", 4, 0}, // yaml's column
		"unknown key":      {"services:\n  web:\n    image: nginx\n    portz: [\"80:80\"]\n", 4, 5},
		"wrong type":       {"services:\n  web:\n    image: nginx\n    restart: [always]\n", 4, 5},
		"undefined volume": {"services:\n  web:\n    image: nginx\n    volumes:\n      - data:/data\n", 2, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "compose.yaml")
			if err := os.WriteFile(file, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := Convert(t.Context(), Options{Files: []string{file}, Out: dir, Envs: []Env{{Name: "dev"}}})
			if len(diags) != 1 || !diags.HasErrors() {
				t.Fatalf("want one error, got %v", diags)
			}
			d := diags[0]
			if d.Subject == nil || d.Subject.Filename != file || d.Subject.Start.Line != tc.line || tc.col != 0 && d.Subject.Start.Column != tc.col {
				t.Fatalf("%s: %s at %v, want %s:%d:%d", d.Summary, d.Detail, d.Subject, file, tc.line, tc.col)
			}
		})
	}
}

// TestDelta: what an environment writes, merged over its parent as zrun
// merges, gives what it must read.
func TestDelta(t *testing.T) {
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	parent := obj(map[string]cty.Value{"a": obj(map[string]cty.Value{"env": obj(map[string]cty.Value{"X": cty.StringVal("1"), "Y": cty.StringVal("2")}), "memory": cty.StringVal("1G")})})
	desired := obj(map[string]cty.Value{"a": obj(map[string]cty.Value{"env": obj(map[string]cty.Value{"X": cty.StringVal("3")}), "memory": cty.StringVal("1G")})})
	d := delta(parent, desired)
	want := obj(map[string]cty.Value{"a": obj(map[string]cty.Value{"env": obj(map[string]cty.Value{"X": cty.StringVal("3"), "Y": cty.NullVal(cty.DynamicPseudoType)})})})
	if !d.RawEquals(want) {
		t.Fatalf("delta = %#v, want %#v", d, want)
	}
	got := inherit(parent, d).GetAttr("a").GetAttr("env").AsValueMap()
	if diff := cmp.Diff([]string{"3"}, []string{got["X"].AsString()}); diff != "" || !got["Y"].IsNull() {
		t.Errorf("merged env = %#v", got)
	}
}
