package main

// The shipped deploy, rollback and down workflows, run by the zrun binary
// against a real Docker Engine (testdata/docker.sh; ZRUN_TEST_DOCKER), on
// a copy of the project whose "e2e" environment extends dev with ports,
// names and a network of the test's own.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
)

// deployTimeout bounds one zrun invocation of a docker test: a deploy
// builds the app, an image, and gates eight containers on their health.
const deployTimeout = 3 * time.Minute

// stackProject is a copy of the shipped project for one test.
type stackProject struct {
	dir    string
	prefix string         // of the test's containers' names
	ports  map[string]int // host port by service
	env    []string       // zrun's extra environment (DOCKER_HOST)
	docker *client.Client
}

// httpServices are the containers the dev environment publishes a port of.
var httpServices = []string{"gateway", "calc-service", "risk-engine", "doc-service", "billing-service", "web"}

// newStackProject copies workflows/, environments/, zrun.hcl and the
// example stack into a temporary project, with an environment "e2e"
// extending dev on ports and names of its own; extra is appended to
// environments/e2e.hcl (more environments extending e2e).
func newStackProject(t *testing.T, extra string) *stackProject {
	t.Helper()
	sock := dockertest.Socket(t)
	dir := shippedProject(t)
	id := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	p := &stackProject{dir: dir, prefix: "e2e-" + id + "-", ports: map[string]int{},
		env: []string{"DOCKER_HOST=unix://" + sock}, docker: dockertest.Client(t, sock)}
	var containers, services strings.Builder
	for _, name := range httpServices {
		p.ports[name] = freeTCPPort(t)
		fmt.Fprintf(&containers, "    %s = { port = %d }\n", name, p.ports[name])
	}
	for check, name := range healthChecked {
		fmt.Fprintf(&services, "    %s = { url = \"http://127.0.0.1:%d\" }\n", check, p.ports[name])
	}
	writeFile(t, filepath.Join(dir, "environments", "e2e.hcl"), fmt.Sprintf(`environment "e2e" {
  extends    = "dev"
  stack      = { network = %q, prefix = %q }
  containers = {
%s  }
  services = {
%s  }
}
%s`, strings.TrimSuffix(p.prefix, "-"), p.prefix, containers.String(), services.String(), extra))
	t.Cleanup(func() { p.removeAll(t) })
	return p
}

// shippedProject copies the shipped project (zrun.hcl, workflows,
// environments and the example stack) into a fresh folder.
func shippedProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"workflows", "environments", "testdata/stack"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(repoRoot, sub))); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(dir, "testdata", "stack", "app", "app"))
	zrunHCL, err := os.ReadFile(filepath.Join(repoRoot, "zrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "zrun.hcl"), string(zrunHCL))
	return dir
}

// healthChecked are the dev environment's health checks (env.services)
// and the container each checks.
var healthChecked = map[string]string{"gateway": "gateway", "calc": "calc-service", "risk": "risk-engine",
	"doc": "doc-service", "billing": "billing-service"}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// zrun runs zrun in the project with DOCKER_HOST set, bounded by
// deployTimeout.
func (p *stackProject) zrun(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deployTimeout)
	defer cancel()
	cmd := zrunCommand(ctx, p.dir, p.env, append([]string{"-C", p.dir}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	cmd.Run()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("zrun %s: still running after %s\n%s", strings.Join(args, " "), deployTimeout, r)
	}
	return r
}

// containers are the test's containers by name, running or not.
func (p *stackProject) containers(t *testing.T) map[string]container.Summary {
	t.Helper()
	list, err := p.docker.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("name", p.prefix))})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]container.Summary{}
	for _, c := range list {
		for _, n := range c.Names {
			if n = strings.TrimPrefix(n, "/"); strings.HasPrefix(n, p.prefix) {
				out[n] = c
			}
		}
	}
	return out
}

func (p *stackProject) removeAll(t *testing.T) {
	ctx := context.Background()
	for _, c := range p.containers(t) {
		p.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	p.docker.NetworkRemove(ctx, strings.TrimSuffix(p.prefix, "-"))
}

// servedVersion is what the service on port answers at /, "" when it does not.
func servedVersion(port int) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return ""
	}
	return v.Version
}

// wantVersions fails unless every published service answers version.
func (p *stackProject) wantVersions(t *testing.T, want string) {
	t.Helper()
	for _, name := range httpServices {
		if got := servedVersion(p.ports[name]); got != want {
			t.Errorf("%s (port %d) answers version %q, want %q", name, p.ports[name], got, want)
		}
	}
}

// ids are the running containers' IDs by name, and no leftovers of a
// replacement (candidates, renamed old ones) may exist.
func (p *stackProject) ids(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, c := range p.containers(t) {
		if strings.Contains(name, "--zrun-next") || strings.Contains(name, "--zrun-old") {
			t.Errorf("leftover container %s (%s)", name, c.State)
			continue
		}
		if strings.Contains(name, "--zrun-kept") {
			continue // a release kept for rollback, stopped
		}
		if c.State != "running" {
			t.Errorf("container %s is %s, want running", name, c.State)
		}
		out[name] = c.ID
	}
	return out
}

// serviceActions are what a deploy's run did to each container, from its
// JSON events: the step.service instances' outputs.
func serviceActions(t *testing.T, stdout string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range parseEvents(t, stdout) {
		if e.Type == "step_finished" && strings.HasPrefix(e.Step, "step.service[") {
			if a, ok := e.Outputs["action"].(string); ok {
				out[strings.TrimSuffix(strings.TrimPrefix(e.Step, `step.service["`), `"]`)] = a
			}
		}
	}
	return out
}

// TestDockerDeploy deploys the example stack, deploys it again unchanged
// (nothing replaced, and the plan says so), changes one service (only it is
// replaced), and checks the release is recorded and the dev secrets passed
// as container variables appear in no output, plan, event or ledger.
func TestDockerDeploy(t *testing.T) {
	t.Parallel()
	p := newStackProject(t, `
environment "e2e-calc" {
  extends    = "e2e"
  containers = { calc-service = { env = { WORKERS = "8" } } }
}
`)
	r := p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1.0.0", "-o", "json")
	wantCode(t, r, 0)
	first := serviceActions(t, r.stdout)
	if len(first) != 8 {
		t.Errorf("deploy ran %d containers, want 8: %v", len(first), first)
	}
	for name, a := range first {
		if a != "created" {
			t.Errorf("%s: %s, want created", name, a)
		}
	}
	p.wantVersions(t, "1.0.0")
	before := p.ids(t)
	secrets := []string{"zakupai_dev_password", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_DEV"}
	outputs := []string{r.stdout, r.stderr}

	plan := p.zrun(t, "plan", "deploy", "--env", "e2e", "--param", "version=1.0.0")
	wantCode(t, plan, 0)
	for _, name := range httpServices {
		wantContains(t, "plan", plan.stdout, "unchanged "+p.prefix+name)
	}
	outputs = append(outputs, plan.stdout, plan.stderr)

	r = p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1.0.0", "-o", "json")
	wantCode(t, r, 0)
	for name, a := range serviceActions(t, r.stdout) {
		if a != "unchanged" {
			t.Errorf("second deploy: %s was %s, want unchanged", name, a)
		}
	}
	if after := p.ids(t); !mapsEqual(before, after) {
		t.Errorf("an unchanged deploy replaced containers:\nbefore %v\nafter  %v", before, after)
	}
	outputs = append(outputs, r.stdout, r.stderr)

	plan = p.zrun(t, "plan", "deploy", "--env", "e2e-calc", "--param", "version=1.0.0")
	wantCode(t, plan, 0)
	wantContains(t, "plan", plan.stdout, "replace "+p.prefix+"calc-service", "env.WORKERS: added")
	outputs = append(outputs, plan.stdout, plan.stderr)
	r = p.zrun(t, "workflow", "deploy", "--env", "e2e-calc", "--param", "version=1.0.0", "-o", "json")
	wantCode(t, r, 0)
	outputs = append(outputs, r.stdout, r.stderr)
	after := p.ids(t)
	for name, id := range before {
		changed := after[name] != id
		if changed != (name == p.prefix+"calc-service") {
			t.Errorf("%s replaced: %v (only calc-service should be)", name, changed)
		}
	}

	rel := p.zrun(t, "releases", "--env", "e2e-calc")
	wantCode(t, rel, 0)
	wantContains(t, "releases", oneLine(rel.stdout), p.prefix+"calc-service 9", "replaced", "unchanged", "(current)")
	outputs = append(outputs, rel.stdout)
	relJSON := p.zrun(t, "releases", "--env", "e2e-calc", "-o", "json")
	wantCode(t, relJSON, 0)
	var rels []struct {
		Run      struct{ ID string }
		Services []struct{ Name, ImageID, Spec string } `json:"services"`
	}
	if err := json.Unmarshal([]byte(relJSON.stdout), &rels); err != nil || len(rels) != 1 { // e2e-calc deployed once
		t.Fatalf("releases -o json: %v\n%s", err, relJSON.stdout)
	}
	for _, s := range rels[0].Services {
		if !strings.Contains(s.Spec, `"env"`) || !strings.Contains(s.Spec, "sha256:") {
			t.Errorf("release records %s's spec as %q, want its canonical JSON with env values hashed", s.Name, s.Spec)
		}
	}
	outputs = append(outputs, relJSON.stdout)
	runs := p.zrun(t, "runs", "-o", "json")
	outputs = append(outputs, runs.stdout)
	var list []struct{ ID string }
	json.Unmarshal([]byte(runs.stdout), &list)
	for _, run := range list {
		show := p.zrun(t, "show", run.ID, "-o", "json")
		logs := p.zrun(t, "logs", run.ID)
		outputs = append(outputs, show.stdout, logs.stdout)
	}
	ledger, err := os.ReadFile(filepath.Join(p.dir, ".zrun", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(ledger))
	for _, s := range secrets {
		for i, out := range outputs {
			if strings.Contains(out, s) {
				t.Errorf("output %d shows the secret %q:\n%s", i, s, out[:min(len(out), 2000)])
			}
		}
	}
	// The secret did reach the container: it is the container's business.
	ins, err := p.docker.ContainerInspect(context.Background(), p.prefix+"gateway")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ins.Config.Env, "DB_PASSWORD=zakupai_dev_password") {
		t.Errorf("gateway's environment lacks DB_PASSWORD: %v", ins.Config.Env)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// loadLoop GETs port's /health every 10 ms until stop is called, and
// returns how many requests failed and how many were made.
func loadLoop(port int) (stop func() (failed, total int64)) {
	var failed, total atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			total.Add(1)
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return failed.Load(), total.Load()
	}
}

// TestDockerUnhealthyDeploy: a release whose gateway never gets healthy
// fails the deploy; the old gateway served every request throughout; the
// services the deploy had already replaced are rolled back.
func TestDockerUnhealthyDeploy(t *testing.T) {
	t.Parallel()
	p := newStackProject(t, `
environment "e2e-bad" {
  extends    = "e2e"
  containers = { gateway = { env = { UNHEALTHY = "1" } } }
}
`)
	wantCode(t, p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1.0.0"), 0)
	stop := loadLoop(p.ports["gateway"])
	// The gateway's gate fails once Docker reports it unhealthy (its
	// /health answers 500: three probes a second apart), not at a
	// timeout; ready_timeout only bounds the healthy ones, which a loaded
	// machine (CI, under -race) may take long to start.
	r := p.zrun(t, "workflow", "deploy", "--env", "e2e-bad", "--param", "version=2.0.0", "--param", "ready_timeout=60s")
	failed, total := stop()
	wantCode(t, r, 4)
	wantContains(t, "output", oneLine(r.stdout+r.stderr), "unhealthy", "rolling back "+p.prefix+"calc-service", `step.rollback["calc-service"] ok`)
	if failed > 0 || total < 50 {
		t.Errorf("the old gateway failed %d of %d requests during the deploy", failed, total)
	}
	p.ids(t)
	p.wantVersions(t, "1.0.0")
}

// TestDockerRollback rolls back to the previous release, then to a named
// one, and refuses a release whose container is no longer kept, before it
// stops anything.
func TestDockerRollback(t *testing.T) {
	t.Parallel()
	p := newStackProject(t, "")
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		wantCode(t, p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version="+v), 0)
	}
	p.wantVersions(t, "1.0.2")
	r := p.zrun(t, "workflow", "rollback", "--env", "e2e")
	wantCode(t, r, 0)
	p.wantVersions(t, "1.0.1")
	p.ids(t)
	// A second rollback goes on back (to 1.0.0), not back to 1.0.2.
	wantCode(t, p.zrun(t, "workflow", "rollback", "--env", "e2e"), 0)
	p.wantVersions(t, "1.0.0")

	runs := p.zrun(t, "runs", "--env", "e2e", "--workflow", "deploy", "-o", "json")
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(runs.stdout), &list); err != nil || len(list) != 3 {
		t.Fatalf("runs: %v %s", err, runs)
	}
	second := list[1].ID // newest first
	r = p.zrun(t, "workflow", "rollback", "--env", "e2e", "--param", "release="+second)
	wantCode(t, r, 0)
	p.wantVersions(t, "1.0.1")
	rel := p.zrun(t, "releases", "--env", "e2e")
	wantContains(t, "releases", rel.stdout, "rollback", "back to "+second)

	// The 1.0.2 release's containers are kept stopped; remove the
	// gateway's, as an operator's docker rm would: rolling back to it
	// fails naming it, and nothing was stopped.
	third := list[0].ID
	for name, c := range p.containers(t) {
		if strings.HasPrefix(name, p.prefix+"gateway--zrun-kept") {
			ins, _ := p.docker.ContainerInspect(context.Background(), c.ID)
			if ins.Config != nil && slices.Contains(ins.Config.Env, "VERSION=1.0.2") {
				p.docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
			}
		}
	}
	before := p.ids(t)
	r = p.zrun(t, "workflow", "rollback", "--env", "e2e", "--param", "release="+third)
	wantCode(t, r, 4)
	wantContains(t, "output", oneLine(r.stdout+r.stderr), third, p.prefix+"gateway")
	if after := p.ids(t); !mapsEqual(before, after) {
		t.Errorf("a refused rollback changed containers:\nbefore %v\nafter  %v", before, after)
	}
	p.wantVersions(t, "1.0.1")
}

// TestDockerKilledDeployConverges: zrun is killed with SIGKILL while a
// replacement is under way; the next deploy converges with no orphan.
func TestDockerKilledDeployConverges(t *testing.T) {
	t.Parallel()
	p := newStackProject(t, "")
	wantCode(t, p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1.0.0"), 0)
	ctx, cancel := context.WithTimeout(t.Context(), deployTimeout)
	defer cancel()
	cmd := zrunCommand(ctx, p.dir, p.env, "-C", p.dir, "workflow", "deploy", "--env", "e2e", "--param", "version=1.1.0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(deployTimeout/2, func() bool {
		for name := range p.containers(t) {
			if strings.Contains(name, "--zrun-next") || strings.Contains(name, "--zrun-old") {
				return true
			}
		}
		return false
	}) {
		t.Fatal("no replacement started")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // zrun and its plugins
	cmd.Wait()
	wantCode(t, p.zrun(t, "workflow", "deploy", "--env", "e2e", "--param", "version=1.1.0"), 0)
	ids := p.ids(t)
	if len(ids) != 8 {
		t.Errorf("%d containers after the deploy, want 8: %v", len(ids), ids)
	}
	p.wantVersions(t, "1.1.0")
}

// TestDockerStage deploys to a "server": a second Docker Engine in a
// network namespace of its own, reached only through a real sshd in that
// namespace; the image built here is piped to it (docker.save into
// docker.load), and health is checked from the server.
func TestDockerStage(t *testing.T) {
	t.Parallel()
	p := newStackProject(t, "")
	server := stageServer(t, p, `
  proxy = { enabled = false } # TestProxyStage deploys behind nginx
`)
	r := p.zrun(t, "workflow", "deploy", "--env", "e2e-stage", "--param", "version=3.0.0", "-o", "json")
	wantCode(t, r, 0)
	evs := parseEvents(t, r.stdout)
	if e, ok := stepEvent(evs, "step_finished", "step.load"); !ok || e.Status != "ok" {
		t.Errorf("the image was not loaded on the server: %+v", e)
	}
	list, err := server.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("name", p.prefix))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 10 { // stage adds prometheus and grafana
		t.Errorf("%d containers running on the server, want 10", len(list))
	}
	if local := p.containers(t); len(local) != 0 {
		t.Errorf("containers on this machine's engine: %v", local)
	}
	for _, s := range []string{"stage-secret-123456", "stage-token-abcdef"} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("the deploy's output shows the secret %q", s)
		}
	}
}

// serverPorts numbers the stand-in server's sshd ports.
var serverPorts atomic.Int32

// stageMu lets one test at a time deploy to the stand-in server: stage
// publishes the services' fixed ports on it.
var stageMu sync.Mutex

// stageServer makes p's environment "e2e-stage" (stage, with body added)
// deploy to a "server": a second Docker Engine in a network namespace of
// its own, reached only through a real sshd in that namespace. It
// returns a client of that engine; the test's containers there are
// removed after it.
func stageServer(t *testing.T, p *stackProject, body string) *client.Client {
	t.Helper()
	stageMu.Lock()
	t.Cleanup(stageMu.Unlock) // after the containers' removal, registered below
	serverSock := dockertest.ServerSocket(t)
	// A port of its own: stage tests run side by side.
	srv := sshdtest.Start(t, &sshdtest.Options{Addr: dockertest.ServerAddr, Netns: "zrun-srv", Port: int(2200 + serverPorts.Add(1))})
	server := dockertest.Client(t, serverSock)
	t.Cleanup(func() {
		list, _ := server.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", p.prefix))})
		for _, c := range list {
			server.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		}
		server.NetworkRemove(context.Background(), strings.TrimSuffix(p.prefix, "-"))
	})
	p.env = append(p.env, "ZAKUPAI_STAGE_HOST="+srv.Addr, fmt.Sprintf("ZAKUPAI_STAGE_PORT=%d", srv.Port),
		"ZAKUPAI_STAGE_USER="+srv.User, "ZAKUPAI_STAGE_KEY="+srv.KeyFile, "ZAKUPAI_STAGE_KNOWN_HOSTS="+srv.KnownHostsFile,
		"ZAKUPAI_STAGE_DOCKER_SOCKET="+serverSock)
	writeFile(t, filepath.Join(p.dir, "environments", "e2e-stage.hcl"), fmt.Sprintf(`environment "e2e-stage" {
  extends = "stage"
  stack   = { network = %q, prefix = %q }
  # The stand-in server runs no database (TestDeployMigrates deploys
  # with migrations).
  db = { migrate_on_deploy = false }
%s}
`, strings.TrimSuffix(p.prefix, "-"), p.prefix, body))
	writeFile(t, filepath.Join(p.dir, ".env.stage"), "DB_PASSWORD=stage-secret-123456\nTELEGRAM_BOT_TOKEN=123:stage-token-abcdef\n")
	// A deploy may take a backup, whose drill decrypts it: the run reads
	// the backup key with the workflow's other secrets, before it starts.
	key := filepath.Join(t.TempDir(), "backup-stage.agekey")
	writeFile(t, key, "AGE-SECRET-KEY-1G7TQKH5U43056GTNLXHUDUCZDC9P2SNEH7ZR64GTMH5KZZKWCLKQ6MARHG\n")
	p.env = append(p.env, "ZAKUPAI_STAGE_BACKUP_IDENTITY="+key)
	return server
}

// TestDockerStageRegistry: with a registry (ZAKUPAI_REGISTRY, as the
// guide's CI pushes to ghcr.io), stage's deploy pushes the image built
// here and the server's engine pulls it, checked by the digest pushed;
// nothing is piped. A refused password fails the deploy before anything
// changes on the server, and is never shown; the release records the
// registry's digest.
func TestDockerStageRegistry(t *testing.T) {
	t.Parallel()
	const user, token, wrong = "ci", "registry-token-98765", "wrong-password-4321"
	reg := dockertest.NewServerRegistry(t, user, token)
	p := newStackProject(t, "")
	server := stageServer(t, p, "  proxy = { enabled = false }\n")
	p.env = append(p.env, "ZAKUPAI_REGISTRY="+reg.Host, "ZAKUPAI_REGISTRY_USER="+user, "ZAKUPAI_REGISTRY_PASSWORD="+wrong)
	onServer := func() []container.Summary {
		list, err := server.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", p.prefix))})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	r := p.zrun(t, "workflow", "deploy", "--env", "e2e-stage", "--param", "version=3.0.0")
	wantCode(t, r, exitRunFailed)
	wantContains(t, "deploy", r.stdout, "step.push failed")
	if strings.Contains(r.stdout+r.stderr, wrong) {
		t.Errorf("the refused deploy shows the password:\n%s", r)
	}
	if list := onServer(); len(list) != 0 {
		t.Errorf("a deploy whose push was refused left %d containers on the server", len(list))
	}

	p.env = append(p.env, "ZAKUPAI_REGISTRY_PASSWORD="+token) // the last one counts
	r = p.zrun(t, "workflow", "deploy", "--env", "e2e-stage", "--param", "version=3.0.0", "-o", "json")
	wantCode(t, r, 0)
	evs := parseEvents(t, r.stdout)
	for step, want := range map[string]string{"step.push": "ok", "step.pull": "ok", "step.save": "skipped", "step.load": "skipped"} {
		if e, ok := stepEvent(evs, "step_finished", step); !ok || e.Status != want {
			t.Errorf("%s: %+v, want %s", step, e, want)
		}
	}
	image := reg.Host + "/zakupai/app:3.0.0"
	pulled, err := server.ImageInspect(context.Background(), image)
	if err != nil {
		t.Fatalf("the server's engine has no %s: %v", image, err)
	}
	list := onServer()
	if len(list) != 10 {
		t.Errorf("%d containers on the server, want 10", len(list))
	}
	for _, c := range list {
		if c.ImageID != pulled.ID {
			t.Errorf("%s runs %s, want %s (%s)", c.Names, c.ImageID, image, pulled.ID)
		}
	}
	digest := reg.ManifestDigest(t, "zakupai/app", "3.0.0")
	rel := p.zrun(t, "releases", "--env", "e2e-stage")
	wantCode(t, rel, 0)
	wantContains(t, "releases", rel.stdout, digest)
	if strings.Contains(r.stdout+r.stderr+rel.stdout, token) {
		t.Error("the deploy or its release shows the registry's password")
	}
}
