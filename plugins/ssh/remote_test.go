package ssh

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
)

// The tests in this file run the actions against a real OpenSSH server
// (sshdtest: /usr/sbin/sshd on loopback), through zrun's own SSH
// communicator, as a step with target = "web1" would. The server runs on
// this machine, so the test looks at the "remote" files with os.

// remote starts an sshd and returns a step on it, as host "web1".
func remote(t *testing.T) *step {
	t.Helper()
	s := sshdtest.Start(t, nil)
	pool := targets.NewPool()
	t.Cleanup(func() { _ = pool.Close() })
	tg, err := pool.Target(t.Context(), &targets.Config{
		Name: "web1", Address: s.Addr, Port: s.Port, User: s.User,
		PrivateKeyFile: s.KeyFile, KnownHostsFile: s.KnownHostsFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	return onTarget(tg)
}

func TestRemoteRun(t *testing.T) {
	web1 := remote(t)
	dir := t.TempDir()

	res := web1.run(t, "run", map[string]any{
		"script": "echo \"$GREETING from $(pwd)\"; echo warning >&2; exit 3",
		"env":    map[string]string{"GREETING": "it's me"}, "dir": dir, "expect_exit": []int{3},
	}).ok(t)
	if res.num("exit_code") != 3 || res.str("stdout") != "it's me from "+dir || res.str("stderr") != "warning" || res.str("host") != "web1" {
		t.Errorf("outputs = %#v", res.outputs)
	}
	if res.Stdout != "[web1] it's me from "+dir+"\n" || res.Stderr != "[web1] warning\n" {
		t.Errorf("streamed stdout %q stderr %q", res.Stdout, res.Stderr)
	}

	res = web1.run(t, "run", map[string]any{"command": []string{"printf", "%s|", "a b", "$HOME", "'q'"}}).ok(t)
	if got := res.str("stdout"); got != "a b|$HOME|'q'|" {
		t.Errorf("arguments were not passed as they are: %q", got)
	}

	err := web1.run(t, "run", map[string]any{"script": "echo 'disk full' >&2; exit 2"}).err()
	if err == nil || !strings.Contains(err.Error(), "command exited with code 2 on web1 (expected 0); last lines of stderr:\ndisk full") {
		t.Errorf("error = %v", err)
	}
}

// TestRemoteSudo: with sudo installed the command runs as root; without
// it, the step fails saying so.
func TestRemoteSudo(t *testing.T) {
	web1 := remote(t)
	res := web1.run(t, "run", map[string]any{"command": []string{"id", "-u"}, "sudo": true})
	if _, err := os.Stat("/usr/bin/sudo"); err == nil {
		if res.ok(t).str("stdout") != "0" {
			t.Errorf("sudo ran as %q", res.str("stdout"))
		}
		return
	}
	err := res.err()
	if err == nil || !strings.Contains(err.Error(), "sudo is not installed") || !strings.Contains(err.Error(), "on web1") {
		t.Errorf("error = %v, want it to say sudo is missing on web1", err)
	}
}

func TestRemoteUploadDownload(t *testing.T) {
	web1 := remote(t)
	src, dest := t.TempDir(), filepath.Join(t.TempDir(), "site")
	tree := map[string]string{"index.html": "<h1>hi</h1>\n", "css/app.css": "body{}", "a/b/c/deep.txt": strings.Repeat("deep\n", 50_000)}
	writeTree(t, src, tree)

	res := web1.run(t, "upload", map[string]any{"src": src, "dest": dest}).ok(t)
	if diff := cmp.Diff(tree, readTree(t, dest)); diff != "" || res.num("files") != 3 {
		t.Errorf("files %d; uploaded tree (-want +got):\n%s", res.num("files"), diff)
	}
	res = web1.run(t, "upload", map[string]any{"src": src, "dest": dest, "skip_unchanged": true, "owner": uid(), "group": "0"}).ok(t)
	if res.num("unchanged") != 3 || res.boolean("changed") {
		t.Errorf("second upload: %#v", res.outputs)
	}

	file := filepath.Join(dest, "index.html")
	web1.run(t, "upload", map[string]any{"src": filepath.Join(src, "css", "app.css"), "dest": file, "mode": "0600"}).ok(t)
	if readFile(t, file) != "body{}" || perm(t, file) != 0o600 {
		t.Errorf("file upload: %q, mode %o", readFile(t, file), perm(t, file))
	}

	back := filepath.Join(t.TempDir(), "back")
	res = web1.run(t, "download", map[string]any{"src": dest, "dest": back}).ok(t)
	tree["index.html"] = "body{}"
	if diff := cmp.Diff(tree, readTree(t, back)); diff != "" || res.num("files") != 3 {
		t.Errorf("files %d; downloaded tree (-want +got):\n%s", res.num("files"), diff)
	}
	if perm(t, filepath.Join(back, "index.html")) != 0o600 {
		t.Errorf("the download did not keep the mode: %o", perm(t, filepath.Join(back, "index.html")))
	}
}

func TestRemoteStreams(t *testing.T) {
	web1 := remote(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "dump.sql")
	data := strings.Repeat("INSERT INTO t VALUES (42);\n", 200_000)

	up := *web1
	up.in = map[string]io.ReadCloser{"from": &pipe{Reader: strings.NewReader(data)}}
	up.run(t, "upload", map[string]any{"from": "pipe:1", "dest": dest}).ok(t)
	if got := readFile(t, dest); got != data {
		t.Fatalf("uploaded %d bytes, want %d", len(got), len(data))
	}

	out := &buffer{}
	down := *web1
	down.out = map[string]io.WriteCloser{"stream": out}
	res := down.run(t, "download", map[string]any{"src": dest}).ok(t)
	if out.String() != data || res.num("bytes") != int64(len(data)) {
		t.Errorf("downloaded %d bytes into the stream, want %d", out.Len(), len(data))
	}

	// A stream that fails halfway publishes nothing on the host.
	up.in = map[string]io.ReadCloser{"from": &pipe{Reader: io.MultiReader(strings.NewReader(strings.Repeat("x", 1<<20)), errReader{errConnDropped})}}
	err := up.run(t, "upload", map[string]any{"from": "pipe:1", "dest": dest}).err()
	if err == nil || !strings.Contains(err.Error(), "connection dropped") {
		t.Fatalf("error = %v", err)
	}
	if got := readFile(t, dest); got != data {
		t.Errorf("the failed upload changed the file: %d bytes", len(got))
	}
	if got := names(t, dir); !cmp.Equal(got, []string{"dump.sql"}) {
		t.Errorf("the host's folder holds %q", got)
	}
}

func TestRemoteTemplate(t *testing.T) {
	web1 := remote(t)
	dest := filepath.Join(t.TempDir(), "site.conf")
	args := func(content string) map[string]any {
		return map[string]any{"content": content, "dest": dest, "mode": "0640"}
	}

	resp, diags := web1.plan(t, "template", args(confV1))
	if diags.HasErrors() || len(resp.Changes) == 0 || resp.Changes[0] != "create "+dest+" on web1" {
		t.Fatalf("plan: %v %q", diags.Err(), resp.Changes)
	}
	if res := web1.run(t, "template", args(confV1)).ok(t); !res.boolean("changed") || readFile(t, dest) != confV1 || perm(t, dest) != 0o640 {
		t.Fatalf("first render: %#v, mode %o", res.outputs, perm(t, dest))
	}
	if resp, _ := web1.plan(t, "template", args(confV1)); !resp.NoOp {
		t.Errorf("plan of unchanged content: %q", resp.Changes)
	}
	if res := web1.run(t, "template", args(confV1)).ok(t); res.boolean("changed") {
		t.Errorf("unchanged content was written again")
	}
	resp, _ = web1.plan(t, "template", args(confV2))
	if want := []string{"-  listen 80;", "+  listen 8080;"}; resp.NoOp || !containsAll(resp.Changes, want) {
		t.Errorf("plan of a change: %q, want lines %q", resp.Changes, want)
	}
	if res := web1.run(t, "template", args(confV2)).ok(t); !res.boolean("changed") || readFile(t, dest) != confV2 {
		t.Errorf("second render: %#v", res.outputs)
	}
}

func containsAll(lines, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

// uid is the test user's numeric id, as an owner.
func uid() string { return strconv.Itoa(os.Getuid()) }
