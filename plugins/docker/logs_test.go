package docker

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// The last lines of a container's log, stdout and stderr apart, counted
// together; since leaves out what is older.
func TestLogs(t *testing.T) {
	sock := dockertest.Socket(t)
	name := objectName(t)
	// The pause orders the streams: the engine reads them apart.
	id := toolContainer(t, sock, name, "lines:150", "sleep:300ms", "elines:5")
	waitExit(t, sock, id)

	logs := func(args map[string]cty.Value) *sdktest.Result {
		args["container"], args["socket"] = cty.StringVal(name), cty.StringVal(sock)
		return sdktest.Run(t, Plugin(), "logs", args, sdktest.WithTarget(local.Target()))
	}
	res := logs(map[string]cty.Value{"tail": cty.NumberIntVal(10)})
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "out 146\nout 147\nout 148\nout 149\nout 150\n"; res.Stdout != want {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	if want := "err 1\nerr 2\nerr 3\nerr 4\nerr 5\n"; res.Stderr != want {
		t.Errorf("stderr %q, want %q", res.Stderr, want)
	}
	if lines := res.Outputs.GetAttr("lines"); !lines.Equals(cty.NumberIntVal(10)).True() {
		t.Errorf("lines %#v, want 10", lines)
	}

	res = logs(map[string]cty.Value{})
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if lines := res.Outputs.GetAttr("lines"); !lines.Equals(cty.NumberIntVal(DefaultLogsTail)).True() {
		t.Errorf("by default: lines %#v, want %d", lines, DefaultLogsTail)
	}
	res = logs(map[string]cty.Value{"tail": cty.NumberIntVal(-1), "since": cty.StringVal("1h")})
	if lines := res.Outputs.GetAttr("lines"); res.Diagnostics.HasErrors() || !lines.Equals(cty.NumberIntVal(155)).True() {
		t.Errorf("all of the last hour: lines %#v, %v; want 155", lines, res.Diagnostics.Err())
	}
	time.Sleep(1100 * time.Millisecond)
	res = logs(map[string]cty.Value{"tail": cty.NumberIntVal(-1), "since": cty.StringVal("1s")})
	if lines := res.Outputs.GetAttr("lines"); res.Diagnostics.HasErrors() || !lines.Equals(cty.NumberIntVal(0)).True() || res.Stdout != "" {
		t.Errorf("since 1s, the lines being older: lines %#v, %v; want 0", lines, res.Diagnostics.Err())
	}
}

func waitExit(t *testing.T, sock, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	waitC, errC := testClient(t, sock).ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
}

func TestLogsArguments(t *testing.T) {
	sock := dockertest.Socket(t)
	tests := map[string]struct {
		args    map[string]cty.Value
		path    string
		summary string
	}{
		"bad tail":       {args: map[string]cty.Value{"container": cty.StringVal("x"), "tail": cty.NumberFloatVal(2.5)}, path: "tail", summary: "Invalid tail"},
		"negative tail":  {args: map[string]cty.Value{"container": cty.StringVal("x"), "tail": cty.NumberIntVal(-2)}, path: "tail", summary: "Invalid tail"},
		"bad since":      {args: map[string]cty.Value{"container": cty.StringVal("x"), "since": cty.StringVal("yesterday")}, path: "since", summary: "Invalid duration"},
		"negative since": {args: map[string]cty.Value{"container": cty.StringVal("x"), "since": cty.StringVal("-1m")}, path: "since", summary: "Invalid duration"},
		"no container":   {args: map[string]cty.Value{"container": cty.StringVal(objectName(t, "missing"))}, path: "container", summary: "No such container"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.args["socket"] = cty.StringVal(sock)
			res := sdktest.Run(t, Plugin(), "logs", tc.args, sdktest.WithTarget(local.Target()))
			if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != tc.summary || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath(tc.path)) {
				t.Errorf("want %q at %s, got %v", tc.summary, tc.path, res.Diagnostics)
			}
		})
	}
}
