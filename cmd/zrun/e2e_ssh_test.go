package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
)

// sshProject writes a project whose environment "fleet" declares one host
// per server (h0, h1...), all in group "all", and the given workflows. A
// server's known_hosts file is used unless knownHosts overrides it.
func sshProject(t *testing.T, servers []*sshdtest.Server, knownHosts string, workflows string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "zrun.hcl"), "zrun {\n  project = \"ssh\"\n}\n")
	var env strings.Builder
	env.WriteString("environment \"fleet\" {\n")
	for i, s := range servers {
		kh := s.KnownHostsFile
		if knownHosts != "" {
			kh = knownHosts
		}
		fmt.Fprintf(&env, `  host "h%d" {
    address          = %q
    port             = %d
    user             = %q
    private_key_file = %q
    known_hosts_file = %q
    agent            = false
    groups           = ["all"]
  }
`, i, s.Addr, s.Port, s.User, s.KeyFile, kh)
	}
	env.WriteString("}\n")
	writeFile(t, filepath.Join(dir, "environments", "fleet.hcl"), env.String())
	writeFile(t, filepath.Join(dir, "workflows", "w.hcl"), workflows)
	return dir
}

// TestSSHFiles runs, uploads, downloads and renders a template on a real
// sshd through the zrun binary; the second run of the template changes
// nothing.
func TestSSHFiles(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t, nil)
	remote := t.TempDir() // the "server's" folder: sshd runs on this machine
	dir := sshProject(t, []*sshdtest.Server{srv}, "", fmt.Sprintf(`
workflow "files" {
  step "run" {
    action  = ssh.run
    target  = "h0"
    script  = "echo hello from $(id -un) in $PWD"
    dir     = %[1]q
  }
  step "up" {
    action = ssh.upload
    target = "h0"
    src    = "payload.txt"
    dest   = "%[1]s/payload.txt"
    mode   = "0640"
    fsync  = false # atomic all the same
  }
  step "down" {
    action     = ssh.download
    target     = "h0"
    depends_on = [step.up]
    src        = "%[1]s/payload.txt"
    dest       = "back.txt"
  }
  step "conf" {
    action  = ssh.template
    target  = "h0"
    content = "listen ${step.run.exit_code + 8080};\n"
    dest    = "%[1]s/app.conf"
  }
}
`, remote))
	writeFile(t, filepath.Join(dir, "payload.txt"), "the payload\n")

	r := zrun(t, dir, nil, "workflow", "files", "--env", "fleet", "--output", "json")
	wantCode(t, r, 0)
	evs := parseEvents(t, r.stdout)
	run, _ := stepEvent(evs, "step_finished", "step.run")
	if got := fmt.Sprint(run.Outputs["stdout"]); got != "hello from "+srv.User+" in "+remote {
		t.Errorf("ssh.run stdout = %q", got)
	}
	if data, err := os.ReadFile(filepath.Join(remote, "payload.txt")); err != nil || string(data) != "the payload\n" {
		t.Errorf("uploaded file: %q, %v", data, err)
	}
	if fi, err := os.Stat(filepath.Join(remote, "payload.txt")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("uploaded file's mode: %v, %v", fi, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "back.txt")); err != nil || string(data) != "the payload\n" {
		t.Errorf("downloaded file: %q, %v", data, err)
	}
	if data, err := os.ReadFile(filepath.Join(remote, "app.conf")); err != nil || string(data) != "listen 8080;\n" {
		t.Errorf("template: %q, %v", data, err)
	}
	if conf, _ := stepEvent(evs, "step_finished", "step.conf"); conf.Outputs["changed"] != true {
		t.Errorf("first template run: changed = %v", conf.Outputs["changed"])
	}

	r = zrun(t, dir, nil, "workflow", "files", "--env", "fleet", "--output", "json")
	wantCode(t, r, 0)
	if conf, _ := stepEvent(parseEvents(t, r.stdout), "step_finished", "step.conf"); conf.Outputs["changed"] != false {
		t.Errorf("second template run: changed = %v", conf.Outputs["changed"])
	}
	// One connection per host per run, shared by its four steps.
	if got := srv.Logins(); got != 2 {
		t.Errorf("two runs logged in %d times, want 2", got)
	}
}

// TestSSHFleet fans a step out over 20 real servers: at most `parallel`
// at once; then in batches of 5 with one failing host and max_failures =
// 0, which stops the batches after the failing one.
func TestSSHFleet(t *testing.T) {
	t.Parallel()
	servers := sshdtest.StartMany(t, 20)
	dir := sshProject(t, servers, "", `
workflow "parallel" {
  step "span" {
    action   = ssh.run
    target   = "all"
    parallel = 4
    script   = "date +%s%N; sleep 0.3; date +%s%N"
  }
}

workflow "batches" {
  step "deploy" {
    action       = ssh.run
    target       = "all"
    batch_size   = 5
    max_failures = 0
    command      = ["sh", "-c", "test ${each.key} != h1"]
  }
}
`)
	r := zrun(t, dir, nil, "workflow", "parallel", "--env", "fleet", "--output", "json")
	wantCode(t, r, 0)
	type span struct{ start, end int64 }
	var spans []span
	for _, e := range parseEvents(t, r.stdout) {
		if e.Type != "step_finished" || !strings.HasPrefix(e.Step, "step.span[") {
			continue
		}
		f := strings.Fields(fmt.Sprint(e.Outputs["stdout"]))
		if len(f) != 2 {
			t.Fatalf("%s printed %q", e.Step, e.Outputs["stdout"])
		}
		a, _ := strconv.ParseInt(f[0], 10, 64)
		b, _ := strconv.ParseInt(f[1], 10, 64)
		spans = append(spans, span{a, b})
	}
	if len(spans) != 20 {
		t.Fatalf("%d hosts ran, want 20:\n%s", len(spans), r)
	}
	most := 0
	for _, s := range spans {
		n := 0
		for _, o := range spans {
			if o.start <= s.start && s.start < o.end {
				n++
			}
		}
		most = max(most, n)
	}
	if most > 4 || most < 2 {
		t.Errorf("%d hosts ran at once, want at most parallel = 4 (and more than one)", most)
	}

	r = zrun(t, dir, nil, "workflow", "batches", "--env", "fleet", "--output", "json")
	wantCode(t, r, 4)
	count := map[string]int{}
	for _, e := range parseEvents(t, r.stdout) {
		if e.Type == "step_finished" && strings.HasPrefix(e.Step, "step.deploy[") {
			count[e.Status]++
			if e.Status == "failed" && e.Step != `step.deploy["h1"]` {
				t.Errorf("%s failed: %s", e.Step, e.Error)
			}
		}
	}
	ran := count["ok"] + count["failed"]
	if count["failed"] != 1 || ran != 5 || count["skipped"] != 15 {
		t.Errorf("per-host results %v: want h1 failed, its batch (the first) finished, later batches skipped\n%s", count, r)
	}
}

// TestSSHHostKeys: an unknown host key and a changed one are refused, with
// the fingerprint seen and how to trust it; nothing runs.
func TestSSHHostKeys(t *testing.T) {
	t.Parallel()
	servers := sshdtest.StartMany(t, 2)
	wf := `
workflow "w" {
  step "s" {
    action  = ssh.run
    target  = "h0"
    command = ["true"]
  }
}
`
	t.Run("unknown", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, empty, "")
		dir := sshProject(t, servers[:1], empty, wf)
		r := zrun(t, dir, nil, "workflow", "w", "--env", "fleet")
		wantCode(t, r, 4)
		wantContains(t, "output", oneLine(r.stdout+r.stderr), servers[0].HostKeyFingerprint, "zrun hosts trust")
	})
	t.Run("changed", func(t *testing.T) {
		// h0 at servers[0]'s address, but the known key is servers[1]'s.
		other, err := os.ReadFile(servers[1].KnownHostsFile)
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Replace(string(other), fmt.Sprintf("[%s]:%d", servers[1].Addr, servers[1].Port), fmt.Sprintf("[%s]:%d", servers[0].Addr, servers[0].Port), 1)
		kh := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, kh, line)
		dir := sshProject(t, servers[:1], kh, wf)
		r := zrun(t, dir, nil, "workflow", "w", "--env", "fleet")
		wantCode(t, r, 4)
		wantContains(t, "output", oneLine(r.stdout+r.stderr), servers[0].HostKeyFingerprint)
		if servers[0].Logins() != 0 {
			t.Error("zrun logged in to a host whose key changed")
		}
	})
}

// TestSSHDroppedConnection kills the server's side of the connection while
// a command runs: that step fails saying the connection was lost, and the
// next step on the host reconnects.
func TestSSHDroppedConnection(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t, nil)
	dir := sshProject(t, []*sshdtest.Server{srv}, "", `
workflow "w" {
  step "long" {
    action            = ssh.run
    target            = "h0"
    command           = ["sleep", "60"]
    continue_on_error = true
  }
  step "after" {
    action     = ssh.run
    target     = "h0"
    depends_on = [step.long]
    command    = ["echo", "back"]
  }
}
`)
	cmd := zrunCommand(t.Context(), dir, nil, "-C", dir, "workflow", "w", "--env", "fleet", "--output", "json")
	out := newLineWriter()
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool { return hasSleep(srv) }) {
		t.Fatal("the long command never started")
	}
	srv.KillConnections()
	_ = cmd.Wait()
	evs := parseEvents(t, out.String())
	long, _ := stepEvent(evs, "step_finished", "step.long")
	if long.Status != "failed" || !strings.Contains(long.Error, "lost") {
		t.Errorf("step.long: %s %q, want failed with the connection lost", long.Status, long.Error)
	}
	after, _ := stepEvent(evs, "step_finished", "step.after")
	if after.Status != "ok" || after.Outputs["stdout"] != "back" {
		t.Errorf("step.after: %s %q %v, want ok after reconnecting", after.Status, after.Error, after.Outputs)
	}
}

// hasSleep reports whether a `sleep 60` runs under one of srv's
// connections (other tests on the machine may run their own).
func hasSleep(srv *sshdtest.Server) bool {
	conns := map[int]bool{}
	for _, pid := range srv.ConnectionPIDs() {
		conns[pid] = true
	}
	for _, p := range procs() {
		if p.cmdline != "sleep 60" {
			continue
		}
		for pid := p.pid; pid > 1; pid = parentPID(pid) {
			if conns[pid] {
				return true
			}
		}
	}
	return false
}

// parentPID is pid's parent, or 0 once it is gone.
func parentPID(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces and parentheses: fields start after the last ")".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// TestSSHPipe streams a command's output into an upload to a real sshd:
// 1 GiB arrives whole with zrun's and its plugins' memory bounded; a
// producer killed halfway fails both steps and leaves no file, nor any
// temporary one, on the host.
func TestSSHPipe(t *testing.T) {
	t.Parallel()
	srv := sshdtest.Start(t, nil)
	remote := t.TempDir()
	dir := sshProject(t, []*sshdtest.Server{srv}, "", fmt.Sprintf(`
workflow "ship" {
  param "script" { type = string }
  step "dump" {
    action = exec.run
    script = param.script
  }
  step "up" {
    action = ssh.upload
    target = "h0"
    from   = step.dump.stream
    dest   = "%s/dump"
  }
}
`, remote))
	t.Run("GiB", func(t *testing.T) {
		if testing.Short() {
			t.Skip("moves 1 GiB")
		}
		stop := make(chan struct{})
		peaks := make(chan map[string]int, 1)
		go func() { peaks <- sampleHWM(dir, stop) }()
		r, maxRSS := zrunUsage(t, dir, "workflow", "ship", "--env", "fleet", "--param", "script=head -c 1G /dev/zero")
		close(stop)
		byProc := <-peaks
		wantCode(t, r, 0)
		fi, err := os.Stat(filepath.Join(remote, "dump"))
		if err != nil || fi.Size() != 1<<30 {
			t.Fatalf("uploaded: %v, %v; want 1 GiB", fi, err)
		}
		// 38-53 MiB here alone or under load; 191 and 300 MiB in CI under
		// the full parallel suite, cause not found yet (the per-process
		// peaks below say which process). A stream held in memory
		// anywhere would be over 1 GiB.
		t.Logf("1 GiB through a pipe into SFTP in %s, peak RSS %d MiB; per process (KiB): %v", r.took.Round(time.Millisecond), maxRSS>>10, byProc)
		if maxRSS > 512<<10 {
			t.Errorf("peak RSS of zrun or a plugin: %d MiB, want under 512 MiB", maxRSS>>10)
		}
		if err := os.Remove(filepath.Join(remote, "dump")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("producer killed", func(t *testing.T) {
		r := zrun(t, dir, nil, "workflow", "ship", "--env", "fleet", "--output", "json",
			"--param", "script=head -c 50M /dev/zero; kill -9 $$")
		wantCode(t, r, 4)
		evs := parseEvents(t, r.stdout)
		dump, _ := stepEvent(evs, "step_finished", "step.dump")
		up, _ := stepEvent(evs, "step_finished", "step.up")
		if dump.Status != "failed" || up.Status != "failed" {
			t.Fatalf("dump %s, up %s: want both failed\n%s", dump.Status, up.Status, r)
		}
		wantContains(t, "the upload's error", up.Error, "step.dump failed")
		if left, _ := os.ReadDir(remote); len(left) != 0 {
			t.Errorf("the host keeps %v after a failed upload", left)
		}
	})
}

// TestPipeGroupRefused: a stream into a step that fans out over a group
// is refused before anything runs (no host is contacted).
func TestPipeGroupRefused(t *testing.T) {
	t.Parallel()
	hosts := []*sshdtest.Server{{Addr: "127.0.0.2", Port: 1, User: "u"}, {Addr: "127.0.0.3", Port: 1, User: "u"}}
	dir := sshProject(t, hosts, "", `
workflow "w" {
  step "dump" {
    action = exec.run
    script = "echo data"
  }
  step "up" {
    action = ssh.upload
    target = "all"
    from   = step.dump.stream
    dest   = "/tmp/x"
  }
}
`)
	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, 3)
	wantContains(t, "validate", oneLine(r.stdout+r.stderr), "Stream to or from a group target", `group "all"`, "w.hcl:9")
}

// TestFanoutOnOneHostWarns: fan-out arguments on a step whose target is a
// single host do nothing, and validate says so (a warning: it still
// passes).
func TestFanoutOnOneHostWarns(t *testing.T) {
	t.Parallel()
	hosts := []*sshdtest.Server{{Addr: "127.0.0.2", Port: 1, User: "u"}}
	dir := sshProject(t, hosts, "", `
workflow "w" {
  step "s" {
    action     = ssh.run
    target     = "h0"
    batch_size = 2
    command    = ["true"]
  }
}
`)
	r := zrun(t, dir, nil, "validate")
	wantCode(t, r, 0)
	wantContains(t, "validate", oneLine(r.stdout+r.stderr), "Fan-out arguments without a group", `host "h0"`)
}

// sampleHWM polls the peak RSS (VmHWM, KiB) of the processes of a run in
// dir until stop is closed, by command line.
func sampleHWM(dir string, stop <-chan struct{}) map[string]int {
	peaks := map[string]int{}
	for {
		for _, p := range ours(dir) {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
					kib, _ := strconv.Atoi(f[1])
					name := p.cmdline[:min(len(p.cmdline), 60)]
					peaks[name] = max(peaks[name], kib)
				}
			}
		}
		select {
		case <-stop:
			return peaks
		case <-time.After(50 * time.Millisecond):
		}
	}
}
