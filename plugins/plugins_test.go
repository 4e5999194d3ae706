package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// testPlugin is the binary of testdata/testplugin, built once.
var testPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zrun-plugins-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	if os.Getenv("ZRUN_TEST_HOST") != "" {
		testPlugin = os.Getenv("ZRUN_TEST_HOST")
		hostMain()
		return
	}
	out, err := exec.Command("go", "build", "-o", testPlugin, "./testdata/testplugin").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the test plugin: %s\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	goplugin.CleanupClients()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func builtins(names ...string) map[string]func() *sdk.Plugin {
	m := map[string]func() *sdk.Plugin{}
	for _, n := range names {
		m[n] = nil // only the names matter to the Manager
	}
	return m
}

func newManager(t testing.TB, opts plugins.Options) *plugins.Manager {
	t.Helper()
	if opts.SelfExe == "" {
		opts.SelfExe = testPlugin
	}
	m := plugins.NewManager(opts)
	t.Cleanup(m.Close)
	return m
}

// install copies the test plugin into dir as zrun-plugin-<name>.
func install(t testing.TB, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, plugins.ExecutablePrefix+name)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(ctx context.Context, c sdk.Client, action string, args cty.Value) (*sdk.RunResponse, error) {
	return c.RunAction(ctx, action, &sdk.RunRequest{Args: args, UI: sdktest.NewUI(nil, sdk.RunInfo{})})
}

func pid(t testing.TB, c sdk.Client) int {
	t.Helper()
	resp, err := run(t.Context(), c, "pid", cty.EmptyObjectVal)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics.Err())
	}
	n, _ := resp.Outputs.GetAttr("pid").AsBigFloat().Int64()
	return int(n)
}

func TestLazyStartAndReuse(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha", "beta")})
	if got := m.Starts(); len(got) != 0 {
		t.Fatalf("started before use: %v", got)
	}
	var wg sync.WaitGroup
	pids := make(chan int, 40)
	for range 20 {
		wg.Go(func() {
			c, err := m.Client(t.Context(), "alpha")
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.GetSchema(t.Context()); err != nil {
				t.Error(err)
			}
			pids <- pid(t, c)
			pids <- pid(t, c)
		})
	}
	wg.Wait()
	close(pids)
	first := <-pids
	for p := range pids {
		if p != first {
			t.Errorf("calls served by processes %d and %d", first, p)
		}
	}
	if diff := cmp.Diff(map[string]int{"alpha": 1}, m.Starts()); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
	s, err := mustClient(t, m, "alpha").GetSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "alpha" || s.Version != "1.2.0" {
		t.Errorf("builtin schema: %s %s", s.Name, s.Version)
	}
}

func mustClient(t testing.TB, m *plugins.Manager, name string) sdk.Client {
	t.Helper()
	c, err := m.Client(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCloseKillsProcess(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	p := pid(t, mustClient(t, m, "alpha"))
	m.Close()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(p, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still alive after Close", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := m.Client(t.Context(), "alpha"); err == nil {
		t.Error("Client after Close: want an error")
	}
}

func TestCrashMidCall(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(t, m, "alpha")
	_, err := run(t.Context(), c, "crash", cty.EmptyObjectVal)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`plugin "alpha"`, "exited unexpectedly while running alpha.crash", "crash requested by the test"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// The next call starts the plugin again.
	pid(t, c)
	if got := m.Starts()["alpha"]; got != 2 {
		t.Errorf("starts after a crash: got %d, want 2", got)
	}
}

func TestCancelReachesPlugin(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(t, m, "alpha")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := run(ctx, c, "sleep", cty.ObjectVal(map[string]cty.Value{"seconds": cty.NumberIntVal(30)}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled call took %s", d)
	}
	pid(t, c) // the plugin is still serving
}

func TestTargetOverProcess(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	target := &sdktest.Target{TargetName: "web1", Files: map[string][]byte{"/etc/motd": []byte("hi")}}
	ui := sdktest.NewUI(target, sdk.RunInfo{})
	for range 3 { // the broker connection is reused by later calls
		resp, err := mustClient(t, m, "alpha").RunAction(t.Context(), "read", &sdk.RunRequest{
			Args: cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("/etc/motd")}), Target: target, UI: ui,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Outputs.GetAttr("content"); !got.RawEquals(cty.StringVal("hi")) {
			t.Errorf("content: got %#v", got)
		}
	}
	if diff := cmp.Diff([]string{"read 2 bytes on web1", "read 2 bytes on web1", "read 2 bytes on web1"}, ui.Record().Logs); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

// TestLocalTargetInPlugin: a step's local target is the plugin's own
// machine, so the plugin runs the command itself (its child, no call back
// into zrun), with zrun's environment and without go-plugin's variables.
func TestLocalTargetInPlugin(t *testing.T) {
	t.Setenv("ZRUN_TEST_INHERITED", "yes")
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(t, m, "alpha")
	target := local.Target()
	resp, err := c.RunAction(t.Context(), "exec", &sdk.RunRequest{
		Args:   cty.ObjectVal(map[string]cty.Value{"command": cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), cty.StringVal("echo ppid=$PPID; env")})}),
		Target: target, UI: sdktest.NewUI(target, sdk.RunInfo{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics.Err())
	}
	out := resp.Outputs.GetAttr("stdout").AsString()
	if want := fmt.Sprintf("ppid=%d\n", pid(t, c)); !strings.HasPrefix(out, want) {
		t.Errorf("the command's parent is not the plugin process (%s): got %q", want, strings.SplitN(out, "\n", 2)[0])
	}
	if !strings.Contains(out, "\nZRUN_TEST_INHERITED=yes\n") {
		t.Errorf("zrun's environment is not inherited:\n%s", out)
	}
	for _, name := range []string{"ZRUN_PLUGIN=", "PLUGIN_CLIENT_CERT=", "PLUGIN_MIN_PORT=", "PLUGIN_PROTOCOL_VERSIONS="} {
		if strings.Contains(out, "\n"+name) {
			t.Errorf("the command inherited go-plugin's %s", strings.TrimSuffix(name, "="))
		}
	}
}

func TestUnknownPlugin(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha"), SearchDirs: []string{t.TempDir()}})
	_, err := m.Client(t.Context(), "nope")
	if err == nil || !strings.Contains(err.Error(), `unknown plugin "nope"; the plugins are alpha.`) {
		t.Errorf("got %v", err)
	}
}

func TestDiscovery(t *testing.T) {
	root := t.TempDir()
	project, home := filepath.Join(root, "project"), filepath.Join(root, "home")
	env1, env2 := filepath.Join(root, "env1"), filepath.Join(root, "env2")
	t.Setenv("HOME", home)
	t.Setenv(plugins.PathEnv, env1+string(filepath.ListSeparator)+string(filepath.ListSeparator)+env2)

	dirs := plugins.SearchDirs(project)
	wantDirs := []string{filepath.Join(project, ".zrun", "plugins"), filepath.Join(home, ".zrun", "plugins"), env1, env2}
	if diff := cmp.Diff(wantDirs, dirs); diff != "" {
		t.Fatalf("search dirs (-want +got):\n%s", diff)
	}
	touch := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	touch(filepath.Join(dirs[0], "zrun-plugin-greet"), 0o755)
	touch(filepath.Join(dirs[1], "zrun-plugin-greet"), 0o755) // shadowed by the project's
	touch(filepath.Join(dirs[1], "zrun-plugin-home"), 0o755)
	touch(filepath.Join(env1, "zrun-plugin-noexec"), 0o644)
	touch(filepath.Join(env1, "README"), 0o755)
	touch(filepath.Join(env2, "zrun-plugin-alpha"), 0o755) // shadowed by a builtin
	touch(filepath.Join(env2, "zrun-plugin-home"), 0o755)

	found, err := plugins.Discover(dirs)
	if err != nil {
		t.Fatal(err)
	}
	want := []plugins.Found{
		{Name: "alpha", Path: filepath.Join(env2, "zrun-plugin-alpha")},
		{Name: "greet", Path: filepath.Join(dirs[0], "zrun-plugin-greet")},
		{Name: "home", Path: filepath.Join(dirs[1], "zrun-plugin-home")},
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}

	m := newManager(t, plugins.Options{Builtins: builtins("alpha"), SearchDirs: dirs})
	if diff := cmp.Diff([]string{"alpha", "greet", "home"}, m.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	wantWarn := []string{filepath.Join(env2, "zrun-plugin-alpha") + ` is ignored: plugin "alpha" is built into zrun, and builtins win`}
	if diff := cmp.Diff(wantWarn, m.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// hostMain is a zrun stand-in for TestPluginDiesWithHost: it starts a
// plugin, prints the plugin's pid, and waits to be killed.
func hostMain() {
	m := plugins.NewManager(plugins.Options{Builtins: builtins("alpha"), SelfExe: testPlugin})
	c, err := m.Client(context.Background(), "alpha")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	resp, err := run(context.Background(), c, "pid", cty.EmptyObjectVal)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	n, _ := resp.Outputs.GetAttr("pid").AsBigFloat().Int64()
	fmt.Println(n)
	time.Sleep(time.Minute)
	os.Exit(1)
}

func TestPluginDiesWithHost(t *testing.T) {
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), "ZRUN_TEST_HOST="+testPlugin)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	var p int
	if _, err := fmt.Fscan(out, &p); err != nil || p == 0 {
		t.Fatalf("reading the plugin's pid: %v", err)
	}
	if err := host.Process.Kill(); err != nil { // SIGKILL: no cleanup can run
		t.Fatal(err)
	}
	_ = host.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(p, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(p, syscall.SIGKILL)
			t.Fatalf("plugin process %d outlived its killed host", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A builtin served by a companion executable beside zrun is started from
// there; a missing companion is an error naming how to build it.
func TestCompanionBuiltin(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(testPlugin, filepath.Join(dir, "zrun-alpha")); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, plugins.Options{Builtins: builtins("alpha"), SelfExe: filepath.Join(dir, "zrun"),
		Companions: map[string]string{"alpha": "zrun-alpha"}})
	c, err := m.Client(t.Context(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(t.Context(), c, "pid", cty.EmptyObjectVal); err != nil {
		t.Fatalf("the companion's action: %v", err)
	}
	m = newManager(t, plugins.Options{Builtins: builtins("alpha"), SelfExe: filepath.Join(dir, "zrun"),
		Companions: map[string]string{"alpha": "zrun-missing"}})
	_, err = m.Client(t.Context(), "alpha")
	if err == nil || !strings.Contains(err.Error(), "zrun-missing, which is not installed beside zrun") || !strings.Contains(err.Error(), "./cmd/zrun-missing") {
		t.Errorf("a missing companion: %v", err)
	}
}
