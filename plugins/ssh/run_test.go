package ssh

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/plugin"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

func TestRunLocal(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		args       map[string]any
		wantCode   int64
		wantStdout string
		wantStderr string
	}{
		"command": {
			args:       map[string]any{"command": []string{"echo", "hello", "world"}},
			wantStdout: "hello world",
		},
		"script with env and dir": {
			args:       map[string]any{"script": "echo \"$GREETING from $(pwd)\"; echo oops >&2", "env": map[string]string{"GREETING": "hi"}, "dir": dir},
			wantStdout: "hi from " + dir, wantStderr: "oops",
		},
		"another shell": {
			args:       map[string]any{"script": `[[ -n "$BASH_VERSION" ]] && echo bash`, "shell": "bash"},
			wantStdout: "bash",
		},
		"stdin": {
			args:       map[string]any{"command": []string{"cat"}, "stdin": "from stdin\n"},
			wantStdout: "from stdin",
		},
		"expected exit code": {
			args:     map[string]any{"script": "exit 3", "expect_exit": []int{0, 3}},
			wantCode: 3,
		},
		"sudo as root runs directly": {
			args:       map[string]any{"command": []string{"id", "-u"}, "sudo": true},
			wantStdout: "0",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if name == "sudo as root runs directly" && !isRoot() {
				t.Skip("runs as root only")
			}
			res := localStep().run(t, "run", tc.args).ok(t)
			if got := res.num("exit_code"); got != tc.wantCode {
				t.Errorf("exit_code = %d, want %d", got, tc.wantCode)
			}
			if got := res.str("stdout"); got != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tc.wantStdout)
			}
			if got := res.str("stderr"); got != tc.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tc.wantStderr)
			}
			if got := res.str("host"); got != "local" {
				t.Errorf("host = %q", got)
			}
			// Locally, output is not prefixed.
			if want := tc.wantStdout; want != "" && res.Stdout != want+"\n" {
				t.Errorf("streamed stdout = %q", res.Stdout)
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	tests := map[string]struct {
		args map[string]any
		want []string
	}{
		"non-zero exit": {
			args: map[string]any{"script": "echo first; echo 'it broke' >&2; exit 4"},
			want: []string{"command exited with code 4 on local (expected 0)", "last lines of stderr:\nit broke"},
		},
		"stdout quoted when stderr is empty": {
			args: map[string]any{"script": "echo only stdout; exit 1", "expect_exit": []int{0, 2}},
			want: []string{"code 1 on local (expected 0, 2)", "last lines of stdout:\nonly stdout"},
		},
		"missing program": {
			args: map[string]any{"command": []string{"no-such-program-zrun"}},
			want: []string{"on local:", "not found"},
		},
		"missing dir": {
			args: map[string]any{"command": []string{"true"}, "dir": "/no/such/dir"},
			want: []string{"on local:", "/no/such/dir"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := localStep().run(t, "run", tc.args).err()
			if err == nil {
				t.Fatal("the step succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestRunCaptureLimit(t *testing.T) {
	res := localStep().run(t, "run", map[string]any{
		"script": "for i in $(seq 1 1000); do echo line$i; done", "capture_limit": 12,
	}).ok(t)
	if got := res.str("stdout"); got != "line1\nline2\n" {
		t.Errorf("stdout = %q", got)
	}
	if !strings.HasSuffix(res.Stdout, "line1000\n") || strings.Count(res.Stdout, "\n") != 1000 {
		t.Errorf("the whole output was not streamed: %d lines", strings.Count(res.Stdout, "\n"))
	}
	if len(res.Logs) != 1 || !strings.Contains(res.Logs[0], "capture_limit") {
		t.Errorf("logs = %q", res.Logs)
	}
}

func TestRunPrefix(t *testing.T) {
	script := map[string]any{"script": "printf 'one\\ntwo\\n'; printf 'partial'; echo ' end'; echo err >&2"}
	tests := map[string]struct {
		step       *step
		args       map[string]any
		wantStdout string
		wantStderr string
	}{
		"remote host": {
			step:       onTarget(named{localStep().target, "web1"}),
			wantStdout: "[web1] one\n[web1] two\n[web1] partial end\n", wantStderr: "[web1] err\n",
		},
		"fanned out: the address names the host": {
			step:       &step{target: named{localStep().target, "web1"}, addr: `step.deploy["web1"]`},
			wantStdout: "one\ntwo\npartial end\n", wantStderr: "err\n",
		},
		"for_each over something else": {
			step:       &step{target: named{localStep().target, "web1"}, addr: `step.deploy["a"]`},
			wantStdout: "[web1] one\n[web1] two\n[web1] partial end\n", wantStderr: "[web1] err\n",
		},
		"prefix off": {
			step: onTarget(named{localStep().target, "web1"}), args: map[string]any{"prefix": false},
			wantStdout: "one\ntwo\npartial end\n", wantStderr: "err\n",
		},
		"prefix on locally": {
			step: localStep(), args: map[string]any{"prefix": true},
			wantStdout: "[local] one\n[local] two\n[local] partial end\n", wantStderr: "[local] err\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := map[string]any{}
			for k, v := range script {
				args[k] = v
			}
			for k, v := range tc.args {
				args[k] = v
			}
			res := tc.step.run(t, "run", args).ok(t)
			if res.Stdout != tc.wantStdout || res.Stderr != tc.wantStderr {
				t.Errorf("streamed stdout %q stderr %q, want %q and %q", res.Stdout, res.Stderr, tc.wantStdout, tc.wantStderr)
			}
			if got := res.str("stdout"); got != "one\ntwo\npartial end" {
				t.Errorf("the captured output is prefixed too: %q", got)
			}
		})
	}
}

func TestRunValidate(t *testing.T) {
	tests := map[string]struct {
		args    map[string]any
		summary string
		path    cty.Path
	}{
		"both":           {args: map[string]any{"command": []string{"true"}, "script": "true"}, summary: "Conflicting arguments", path: cty.GetAttrPath("script")},
		"neither":        {args: map[string]any{}, summary: "Missing command", path: cty.GetAttrPath("command")},
		"empty command":  {args: map[string]any{"command": []string{}}, summary: "Empty command", path: cty.GetAttrPath("command")},
		"empty program":  {args: map[string]any{"command": []string{"", "x"}}, summary: "Empty program name", path: cty.GetAttrPath("command").IndexInt(0)},
		"bad exit code":  {args: map[string]any{"script": "true", "expect_exit": []int{0, 256}}, summary: "Invalid exit code", path: cty.GetAttrPath("expect_exit").IndexInt(1)},
		"bad limit":      {args: map[string]any{"script": "true", "capture_limit": -1}, summary: "Invalid capture limit", path: cty.GetAttrPath("capture_limit")},
		"empty shell":    {args: map[string]any{"script": "true", "shell": ""}, summary: "Empty shell", path: cty.GetAttrPath("shell")},
		"script too big": {args: map[string]any{"script": strings.Repeat("#", maxScript+1)}, summary: "Script too long", path: cty.GetAttrPath("script")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			localStep().run(t, "run", tc.args).wantErr(t, tc.summary, tc.path)
		})
	}
	t.Run("unknown values are left for the run", func(t *testing.T) {
		res := localStep().run(t, "run", map[string]any{"command": cty.UnknownVal(cty.List(cty.String))})
		// Validation passed; the run then fails on the unknown value, which
		// the engine never sends.
		for _, d := range res.diags {
			if d.Summary == "Missing command" {
				t.Errorf("an unknown command was taken as missing: %#v", d)
			}
		}
	})
}

func TestRunPlan(t *testing.T) {
	tests := map[string]struct {
		args map[string]any
		want string
	}{
		"command": {args: map[string]any{"command": []string{"systemctl", "restart", "my app"}}, want: `run systemctl restart "my app" on web1`},
		"script":  {args: map[string]any{"script": "set -e\napt-get update\n", "sudo": true}, want: "run sudo sh script (2 lines): set -e on web1"},
		"unknown": {args: map[string]any{"command": cty.UnknownVal(cty.List(cty.String))}, want: "run a command (known at run time) on web1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, diags := onTarget(named{localStep().target, "web1"}).plan(t, "run", tc.args)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			if len(resp.Changes) != 1 || resp.Changes[0] != tc.want {
				t.Errorf("changes = %q, want %q", resp.Changes, tc.want)
			}
		})
	}
}

func TestSudoAdvice(t *testing.T) {
	for stderr, want := range map[string]string{
		"sudo: a password is required":                      "NOPASSWD",
		"deploy is not in the sudoers file.":                "add a sudoers rule",
		"sh: 1: sudo: not found":                            "sudo is not installed on web1",
		"ls: cannot access '/x': No such file or directory": "",
	} {
		got := sudoAdvice("web1", stderr)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("sudoAdvice(%q) = %q, want it to say %q", stderr, got, want)
		}
	}
}

// TestOverGRPC runs the plugin as zrun does, over the real wire: the
// schema, validation and a run, with the local target served back over
// go-plugin's broker.
func TestOverGRPC(t *testing.T) {
	if err := plugin.Check(Plugin()); err != nil {
		t.Fatal(err)
	}
	res := sdktest.Run(t, Plugin(), "run", map[string]any{"script": "echo over the wire"},
		sdktest.OverGRPC(), sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs.GetAttr("stdout").AsString(); got != "over the wire" {
		t.Errorf("stdout = %q", got)
	}
	// Files move through the target the host serves over the broker.
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"src/a": "alpha", "src/b/c": "gamma"})
	res = sdktest.Run(t, Plugin(), "upload", map[string]any{"src": filepath.Join(dir, "src"), "dest": filepath.Join(dir, "dest")},
		sdktest.OverGRPC(), sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, filepath.Join(dir, "dest")); got["a"] != "alpha" || got["b/c"] != "gamma" {
		t.Errorf("uploaded over gRPC: %q", got)
	}
	res = sdktest.Run(t, Plugin(), "template", map[string]any{"content": "x = 1\n", "dest": filepath.Join(dir, "dest", "a")},
		sdktest.OverGRPC(), sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil || !res.Outputs.GetAttr("changed").True() || readFile(t, filepath.Join(dir, "dest", "a")) != "x = 1\n" {
		t.Errorf("template over gRPC: %v, %#v", err, res.Outputs)
	}
	res = sdktest.Run(t, Plugin(), "upload", map[string]any{"src": "x", "dest": "relative"}, sdktest.OverGRPC())
	if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("dest")) {
		t.Errorf("diagnostics = %#v", res.Diagnostics)
	}
}
