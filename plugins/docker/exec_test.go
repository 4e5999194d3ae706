package docker

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

func execArgsOf(sock, container string, command ...string) map[string]cty.Value {
	return map[string]cty.Value{"container": cty.StringVal(container), "command": stringList(command...), "socket": cty.StringVal(sock)}
}

// A command's stdout and stderr reach the step's apart, and its outputs;
// env, user and working_dir reach the command; an exit code fails the
// step unless expected.
func TestExec(t *testing.T) {
	sock := dockertest.Socket(t)
	name := objectName(t)
	toolContainer(t, sock, name)

	args := execArgsOf(sock, name, "/tool", "out:hello", "err:oops", "env:GREETING", "pwd", "uid")
	args["env"] = cty.MapVal(map[string]cty.Value{"GREETING": cty.StringVal("s3cret-value")})
	args["working_dir"] = cty.StringVal("/etc")
	args["user"] = cty.StringVal("1234")
	res := sdktest.Run(t, Plugin(), "exec", args, sdktest.WithTarget(local.Target()), sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := res.Outputs.GetAttr("stdout").AsString(), "hello\ns3cret-value\n/etc\n1234"; got != want {
		t.Errorf("stdout output %q, want %q", got, want)
	}
	if got := res.Outputs.GetAttr("stderr").AsString(); got != "oops" {
		t.Errorf("stderr output %q, want oops", got)
	}
	if res.Stdout != "hello\ns3cret-value\n/etc\n1234\n" || res.Stderr != "oops\n" {
		t.Errorf("the step's stdout %q and stderr %q", res.Stdout, res.Stderr)
	}
	if code := res.Outputs.GetAttr("exit_code"); !code.Equals(cty.NumberIntVal(0)).True() {
		t.Errorf("exit_code %#v", code)
	}

	res = sdktest.Run(t, Plugin(), "exec", execArgsOf(sock, name, "/tool", "err:it broke", "exit:3"), sdktest.WithTarget(local.Target()))
	err := res.Diagnostics.Err()
	if err == nil || !contains(err.Error(), "exited with code 3 (expected 0)") || !contains(err.Error(), "it broke") {
		t.Errorf("exit 3: want an error with the code and stderr, got %v", err)
	}

	args = execArgsOf(sock, name, "/tool", "out:fine", "exit:3")
	args["expect_exit"] = cty.ListVal([]cty.Value{cty.NumberIntVal(0), cty.NumberIntVal(3)})
	res = sdktest.Run(t, Plugin(), "exec", args, sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatalf("exit 3 expected: %v", err)
	}
	if code := res.Outputs.GetAttr("exit_code"); !code.Equals(cty.NumberIntVal(3)).True() {
		t.Errorf("exit_code %#v, want 3", code)
	}

	res = sdktest.Run(t, Plugin(), "exec", execArgsOf(sock, name, "/no/such/program"), sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err == nil || !contains(err.Error(), "exited with code") {
		t.Errorf("a missing program: want an exit code error, got %v", err)
	}
}

// The plan shows the command, never the environment.
func TestExecPlan(t *testing.T) {
	args := execArgsOf("/none.sock", "gateway", "nginx", "-s", "reload")
	args["env"] = cty.MapVal(map[string]cty.Value{"TOKEN": cty.StringVal("s3cret-value")})
	plan, diags, err := sdkClient().PlanAction(t.Context(), "exec", planRequest(t, "exec", args))
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if got := strings.Join(plan.Changes, "\n"); got != "exec nginx -s reload in gateway on local" {
		t.Errorf("plan %q", got)
	}
}

// Output reaches the step as the command writes it, not at its end, and
// more than the capture limit is streamed whole but kept bounded.
func TestExecStreams(t *testing.T) {
	sock := dockertest.Socket(t)
	name := objectName(t)
	toolContainer(t, sock, name)

	first := make(chan time.Time, 1)
	ui := newStreamUI(nil, nil)
	ui.stdout = &watchWriter{want: "first", seen: first}
	start := time.Now()
	out, diags := runWith(t, t.Context(), "exec", execArgsOf(sock, name, "/tool", "out:first", "sleep:1500ms", "out:second"), ui)
	end := time.Now()
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-first:
		if end.Sub(at) < time.Second {
			t.Errorf("the first line reached the step %s after the start and %s before the end: not as it was written", at.Sub(start), end.Sub(at))
		}
	default:
		t.Fatal("the first line never reached the step's stdout")
	}
	if got := out.GetAttr("stdout").AsString(); got != "first\nsecond" {
		t.Errorf("stdout %q", got)
	}

	const big = 3 << 20
	res := sdktest.Run(t, Plugin(), "exec", execArgsOf(sock, name, "/tool", "bytes:"+strconv.Itoa(big)), sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != big {
		t.Errorf("the step's stdout got %d bytes, want %d", len(res.Stdout), big)
	}
	if got := len(res.Outputs.GetAttr("stdout").AsString()); got != execCaptureLimit {
		t.Errorf("the stdout output keeps %d bytes, want %d", got, execCaptureLimit)
	}
}

// watchWriter notes when a string first passes.
type watchWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan time.Time
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		w.seen <- time.Now()
	}
	return len(p), nil
}

// A cancelled step ends promptly, and so does its command in the
// container: Docker cannot stop an exec, so its process is signalled on
// the engine's machine.
func TestExecCancelled(t *testing.T) {
	sock := dockertest.Socket(t)
	name := objectName(t)
	toolContainer(t, sock, name)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, diags := runWith(t, ctx, "exec", execArgsOf(sock, name, "/tool", "sleep:30s"), newStreamUI(nil, nil))
	if took := time.Since(start); took > execStopGrace {
		t.Errorf("a cancelled exec took %s", took)
	}
	if err := diags.Err(); err == nil || !contains(err.Error(), "stopped") || contains(err.Error(), "may still run") {
		t.Errorf("want an error saying it stopped, and nothing else, got %v", err)
	}
	top, err := testClient(t, sock).ContainerTop(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range top.Processes {
		if strings.Contains(strings.Join(p, " "), "sleep:30s") {
			t.Errorf("the cancelled command still runs in the container: %q", p)
		}
	}
}

func TestExecArguments(t *testing.T) {
	sock := dockertest.Socket(t)
	tests := map[string]struct {
		args    map[string]cty.Value
		path    cty.Path
		summary string
	}{
		"empty command":   {args: execArgsOf(sock, "x"), path: cty.GetAttrPath("command"), summary: "Empty command"},
		"empty program":   {args: execArgsOf(sock, "x", ""), path: cty.GetAttrPath("command").IndexInt(0), summary: "Empty program name"},
		"bad exit code":   {args: withArg(execArgsOf(sock, "x", "true"), "expect_exit", cty.ListVal([]cty.Value{cty.NumberIntVal(0), cty.NumberFloatVal(1.5)})), path: cty.GetAttrPath("expect_exit").IndexInt(1), summary: "Invalid exit code"},
		"bad env name":    {args: withArg(execArgsOf(sock, "x", "true"), "env", cty.MapVal(map[string]cty.Value{"A=B": cty.StringVal("v")})), path: cty.GetAttrPath("env").Index(cty.StringVal("A=B")), summary: "Invalid variable name"},
		"empty container": {args: execArgsOf(sock, "", "true"), path: cty.GetAttrPath("container"), summary: "Empty container"},
		"no container":    {args: execArgsOf(sock, objectName(t, "missing"), "true"), path: cty.GetAttrPath("container"), summary: "No such container"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := sdktest.Run(t, Plugin(), "exec", tc.args, sdktest.WithTarget(local.Target()))
			if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != tc.summary || !res.Diagnostics[0].Path.Equals(tc.path) {
				t.Errorf("want %q at %#v, got %v", tc.summary, tc.path, res.Diagnostics)
			}
		})
	}
}

func withArg(args map[string]cty.Value, name string, v cty.Value) map[string]cty.Value {
	args[name] = v
	return args
}
