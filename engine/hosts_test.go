package engine

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/targets"
)

const hostsProject = `
secret "key_pass" {
  env = "ZRUN_TEST_KEY_PASS"
}
environment "prod" {
  host "bastion" {
    address          = "203.0.113.10"
    user             = "ops"
    private_key_file = "~/.ssh/bastion"
    passphrase       = secret.key_pass
  }
  host "web1" {
    address          = "10.0.0.11"
    port             = 2222
    jump             = "bastion"
    sudo             = true
    private_key_file = "keys/web"
    known_hosts_file = "/etc/zrun/known_hosts"
    host_key         = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    agent            = true
  }
  host "web2" {
    address = "10.0.0.12"
  }
}
`

// TestHostConfigs: host blocks resolve into the pool's settings: ~ and
// relative paths expanded, the jump host's own settings chained, the
// passphrase read from its secret, the agent used by default only
// without a key file.
func TestHostConfigs(t *testing.T) {
	t.Setenv("ZRUN_TEST_KEY_PASS", "correct horse")
	t.Setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
	home, _ := os.UserHomeDir()
	r := New(Options{Config: project(t, map[string]string{"environments/prod.hcl": hostsProject}), Plugins: newMock()})
	cfgs, diags := r.HostConfigs(t.Context(), r.Config().Environments["prod"])
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	bastion := &targets.Config{Name: "bastion", Address: "203.0.113.10", User: "ops",
		PrivateKeyFile: filepath.Join(home, ".ssh/bastion"), Passphrase: "correct horse"}
	want := []*targets.Config{
		bastion,
		{Name: "web1", Address: "10.0.0.11", Port: 2222, Jump: bastion, Sudo: true, Agent: true,
			PrivateKeyFile: filepath.Join(r.Config().Dir, "keys/web"), KnownHostsFile: "/etc/zrun/known_hosts",
			HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"},
		{Name: "web2", Address: "10.0.0.12", Agent: true},
	}
	if diff := cmp.Diff(want, cfgs); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
}

// TestHostConfigsMissingSecret: a passphrase whose secret cannot be read
// is a diagnostic at the secret, not an empty passphrase.
func TestHostConfigsMissingSecret(t *testing.T) {
	r := New(Options{Config: project(t, map[string]string{"environments/prod.hcl": hostsProject}), Plugins: newMock()})
	_, diags := r.HostConfigs(t.Context(), r.Config().Environments["prod"])
	if !diags.HasErrors() || diags[0].Summary != "Secret not available" {
		t.Fatalf("got %v, want Secret not available", diags)
	}
}

// TestPassphraseIsMasked: a passphrase is a secret of the run: an error
// that quotes it shows it masked, in the step's result and its events.
func TestPassphraseIsMasked(t *testing.T) {
	t.Setenv("ZRUN_TEST_KEY_PASS", "correct horse")
	pool := newFakePool()
	pool.connectErr["bastion"] = true
	rec := &events.Recorder{}
	r := New(Options{Config: project(t, map[string]string{
		"environments/prod.hcl": hostsProject,
		"workflows/w.hcl": `
workflow "w" {
  step "x" {
    action = mock.remote
    target = "bastion"
  }
}`,
	}), Plugins: withRemote(newMock()), Sink: rec, Targets: func() TargetPool { return pool }})
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "w", Env: "prod"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sr := res.Steps["step.x"]
	if sr.Status != events.StatusFailed || !strings.Contains(sr.Error, `host "bastion": cannot decrypt the key`) {
		t.Fatalf("step.x %+v", sr)
	}
	for _, text := range []string{sr.Error, res.Error, eventsText(rec)} {
		if strings.Contains(text, "correct horse") {
			t.Errorf("the passphrase shows: %s", text)
		}
	}
	if got := pool.configs["bastion"].Passphrase; got != "correct horse" {
		t.Errorf("the pool got passphrase %q", got)
	}
}

func eventsText(rec *events.Recorder) string {
	var b strings.Builder
	for _, e := range rec.Events() {
		if f, ok := e.(events.StepFinished); ok {
			b.WriteString(f.Error + "\n")
		}
		if l, ok := e.(events.StepLog); ok {
			b.WriteString(l.Line + "\n")
		}
	}
	return b.String()
}

// TestValidateTargetsInEveryEnvironment: a target must name a host or a
// group in every environment; one missing in some says which, with a
// suggestion, and a group in one environment may be a host in another.
func TestValidateTargetsInEveryEnvironment(t *testing.T) {
	r := New(Options{Config: project(t, map[string]string{
		"environments/envs.hcl": `
environment "prod" {
  host "web1" {
    address = "10.0.0.1"
    groups  = ["web"]
  }
  host "db" { address = "10.0.0.2" }
}
environment "stage" {
  host "web" { address = "10.0.1.1" }
  host "db" { address = "10.0.1.2" }
}
environment "dev" {
  host "wbe" { address = "127.0.0.1" }
}`,
		"workflows/w.hcl": `
workflow "w" {
  step "deploy" {
    action = mock.remote
    target = "web"
  }
  step "migrate" {
    action = mock.remote
    target = "db"
  }
  step "here" {
    action = mock.echo
    target = "local"
  }
}`,
	}), Plugins: withRemote(newMock())})
	diags := r.Validate(t.Context())
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary+" @"+strings.TrimPrefix(d.Subject.String(), r.Config().Dir+"/")+": "+d.Detail)
	}
	sort.Strings(got)
	want := []string{
		`Unknown target @workflows/w.hcl:5,14-19: Environment "dev" declares no host or group "web". Declare it with a host or group block, or use "local" for this machine. Did you mean "wbe"? (In environment dev.)`,
		`Unknown target @workflows/w.hcl:9,14-18: Environment "dev" declares no host or group "db". Declare it with a host or group block, or use "local" for this machine. Did you mean "wbe"? (In environment dev.)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestPlanShowsHosts: plan lists a group's step once per host, with its
// batch, and a host's step with its host; the plugin plans against the
// host's target.
func TestPlanShowsHosts(t *testing.T) {
	pool := newFakePool()
	r := hostsRunner(t, pool, `
workflow "w" {
  step "x" {
    action     = mock.remote
    target     = "web"
    batch_size = 2
    parallel   = 2
  }
  step "one" {
    action = mock.remote
    target = "web03"
  }
  step "here" {
    action = mock.echo
  }
}`, hostsEnv(3, ""))
	p, diags := r.Plan(t.Context(), RunRequest{Workflow: "w", Env: "prod"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	type row struct {
		Addr, Host, Group       string
		Batch, Batches, Paralel int
	}
	var got []row
	for _, s := range p.Steps {
		got = append(got, row{s.Addr, s.Host, s.Group, s.Batch, s.Batches, s.Parallel})
	}
	want := []row{
		{"step.here", "", "", 0, 0, 0},
		{"step.one", "web03", "", 0, 0, 0},
		{`step.x["web01"]`, "web01", "web", 1, 2, 2},
		{`step.x["web02"]`, "web02", "web", 1, 2, 2},
		{`step.x["web03"]`, "web03", "web", 2, 2, 2},
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Addr < got[j].Addr })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if pool.closed != 1 || len(pool.configs) != 3 {
		t.Errorf("plan reached %d hosts and closed its pool %d times; want 3 and once", len(pool.configs), pool.closed)
	}
}
