package exec

import (
	"context"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// args builds exec.run's arguments object, with nulls for those not given.
func args(set map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{}
	for name, ty := range newRun().Schema().ArgsType().AttributeTypes() {
		attrs[name] = cty.NullVal(ty)
		if v, ok := set[name]; ok {
			attrs[name] = v
		}
	}
	return cty.ObjectVal(attrs)
}

func strs(ss ...string) cty.Value {
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func runExec(ctx context.Context, t *testing.T, a cty.Value, ui sdk.UI) *sdk.RunResponse {
	t.Helper()
	if ui, ok := ui.(*sdktest.UI); ok {
		ui.SetArgs(a)
	}
	resp, err := sdk.InProcess(Plugin()).RunAction(ctx, "run", &sdk.RunRequest{Args: a, Target: local.Target(), UI: ui})
	if err != nil {
		t.Fatalf("RunAction: %v", err)
	}
	return resp
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		args       map[string]cty.Value
		wantOut    map[string]cty.Value
		wantStdout string // streamed to the UI
		wantStderr string
	}{
		"command": {
			args:       map[string]cty.Value{"command": strs("echo", "hello world")},
			wantOut:    map[string]cty.Value{"exit_code": cty.NumberIntVal(0), "stdout": cty.StringVal("hello world"), "stderr": cty.StringVal("")},
			wantStdout: "hello world\n",
		},
		"script with env, dir and stdin": {
			args: map[string]cty.Value{
				"script": cty.StringVal(`echo "$GREETING from $(pwd)"; cat; echo warn >&2`),
				"env":    cty.MapVal(map[string]cty.Value{"GREETING": cty.StringVal("hi")}),
				"dir":    cty.StringVal(dir),
				"stdin":  cty.StringVal("piped\n"),
			},
			wantOut: map[string]cty.Value{
				"exit_code": cty.NumberIntVal(0),
				"stdout":    cty.StringVal("hi from " + dir + "\npiped"),
				"stderr":    cty.StringVal("warn"),
			},
			wantStdout: "hi from " + dir + "\npiped\n",
			wantStderr: "warn\n",
		},
		"only one trailing newline trimmed": {
			args:       map[string]cty.Value{"script": cty.StringVal(`printf 'a\n\n'`)},
			wantOut:    map[string]cty.Value{"exit_code": cty.NumberIntVal(0), "stdout": cty.StringVal("a\n"), "stderr": cty.StringVal("")},
			wantStdout: "a\n\n",
		},
		"expected non-zero exit": {
			args: map[string]cty.Value{
				"script":      cty.StringVal("echo partial; exit 3"),
				"expect_exit": cty.ListVal([]cty.Value{cty.NumberIntVal(0), cty.NumberIntVal(3)}),
			},
			wantOut:    map[string]cty.Value{"exit_code": cty.NumberIntVal(3), "stdout": cty.StringVal("partial"), "stderr": cty.StringVal("")},
			wantStdout: "partial\n",
		},
		"capture limit keeps the head, streams everything": {
			args: map[string]cty.Value{
				"script":        cty.StringVal("echo 0123456789; echo more"),
				"capture_limit": cty.NumberIntVal(4),
			},
			wantOut:    map[string]cty.Value{"exit_code": cty.NumberIntVal(0), "stdout": cty.StringVal("0123"), "stderr": cty.StringVal("")},
			wantStdout: "0123456789\nmore\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ui := sdktest.NewUI(local.Target(), sdk.RunInfo{})
			resp := runExec(t.Context(), t, args(tc.args), ui)
			if err := resp.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			want := map[string]cty.Value{"stream": cty.NullVal(cty.String)}
			maps.Copy(want, tc.wantOut)
			if diff := cmp.Diff(cty.ObjectVal(want).GoString(), resp.Outputs.GoString()); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			rec := ui.Record()
			if got := rec.Stdout; got != tc.wantStdout {
				t.Errorf("streamed stdout = %q, want %q", got, tc.wantStdout)
			}
			if got := rec.Stderr; got != tc.wantStderr {
				t.Errorf("streamed stderr = %q, want %q", got, tc.wantStderr)
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	tests := map[string]struct {
		args map[string]cty.Value
		want []string // substrings of the error
		not  []string
	}{
		"unexpected exit code quotes the last lines of stderr": {
			args: map[string]cty.Value{"script": cty.StringVal(`for i in $(seq 1 30); do echo "line $i" >&2; done; exit 2`)},
			want: []string{"exited with code 2", "expected 0", "line 21\n", "line 30"},
			not:  []string{"line 20\n"},
		},
		"exit code not among several expected": {
			args: map[string]cty.Value{
				"command":     strs("false"),
				"expect_exit": cty.ListVal([]cty.Value{cty.NumberIntVal(2), cty.NumberIntVal(3)}),
			},
			want: []string{"code 1", "expected 2, 3"},
		},
		"stderr tail kept beyond the capture limit": {
			args: map[string]cty.Value{
				"script":        cty.StringVal(`echo first >&2; echo last >&2; exit 1`),
				"capture_limit": cty.NumberIntVal(3),
			},
			want: []string{"last"},
		},
		"stdout quoted when stderr is empty": {
			args: map[string]cty.Value{"script": cty.StringVal(`echo why; exit 4`)},
			want: []string{"code 4", "stdout:\nwhy"},
		},
		"command not found": {
			args: map[string]cty.Value{"command": strs("zrun-no-such-program", "x")},
			want: []string{"zrun-no-such-program"},
		},
		"neither command nor script": {
			args: map[string]cty.Value{},
			want: []string{"Missing command"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := runExec(t.Context(), t, args(tc.args), sdktest.NewUI(local.Target(), sdk.RunInfo{}))
			err := resp.Diagnostics.Err()
			if err == nil {
				t.Fatalf("step succeeded with outputs %#v", resp.Outputs)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q contains %q", err, n)
				}
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Output reaches the UI while the command runs; cancelling on it stops
	// the command long before its sleep ends.
	ui := sdktest.NewUI(local.Target(), sdk.RunInfo{})
	go func() {
		for !strings.Contains(ui.Record().Stdout, "ready") {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	resp := runExec(ctx, t, args(map[string]cty.Value{"script": cty.StringVal("echo ready; sleep 60")}), ui)
	if err := resp.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("err = %v, want a cancellation", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled step took %v", d)
	}
}

func TestValidate(t *testing.T) {
	unknownStr := cty.UnknownVal(cty.String)
	command := cty.GetAttrPath("command")
	tests := map[string]struct {
		args map[string]cty.Value
		want []diag
	}{
		"command":        {args: map[string]cty.Value{"command": strs("true")}},
		"script":         {args: map[string]cty.Value{"script": cty.StringVal("true")}},
		"neither":        {args: map[string]cty.Value{}, want: []diag{{"Missing command", command}}},
		"both":           {args: map[string]cty.Value{"command": strs("true"), "script": cty.StringVal("true")}, want: []diag{{"Conflicting arguments", cty.GetAttrPath("script")}}},
		"unknown script": {args: map[string]cty.Value{"script": unknownStr}},
		"unknown command with script": {
			args: map[string]cty.Value{"command": cty.UnknownVal(cty.List(cty.String)), "script": cty.StringVal("x")},
		},
		"empty command": {args: map[string]cty.Value{"command": cty.ListValEmpty(cty.String)}, want: []diag{{"Empty command", command}}},
		"empty program": {args: map[string]cty.Value{"command": strs("", "x")}, want: []diag{{"Empty program name", command.IndexInt(0)}}},
		"null element": {
			args: map[string]cty.Value{"command": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String)})},
			want: []diag{{"Null command argument", command.IndexInt(1)}},
		},
		"unknown element": {args: map[string]cty.Value{"command": cty.ListVal([]cty.Value{unknownStr, cty.StringVal("x")})}},
		"negative capture limit": {
			args: map[string]cty.Value{"script": cty.StringVal("x"), "capture_limit": cty.NumberIntVal(-1)},
			want: []diag{{"Invalid capture limit", cty.GetAttrPath("capture_limit")}},
		},
		"fractional capture limit": {
			args: map[string]cty.Value{"script": cty.StringVal("x"), "capture_limit": cty.NumberFloatVal(1.5)},
			want: []diag{{"Invalid capture limit", cty.GetAttrPath("capture_limit")}},
		},
		"bad exit codes": {
			args: map[string]cty.Value{"script": cty.StringVal("x"), "expect_exit": cty.ListVal([]cty.Value{
				cty.NumberIntVal(0), cty.NumberIntVal(256), cty.NumberFloatVal(0.5), cty.UnknownVal(cty.Number),
			})},
			want: []diag{
				{"Invalid exit code", cty.GetAttrPath("expect_exit").IndexInt(1)},
				{"Invalid exit code", cty.GetAttrPath("expect_exit").IndexInt(2)},
			},
		},
		"unknown object": {args: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := args(tc.args)
			if tc.args == nil {
				a = cty.UnknownVal(newRun().Schema().ArgsType())
			}
			all, err := sdk.InProcess(Plugin()).ValidateActions(t.Context(), []*sdk.ValidateRequest{{Action: "run", Args: a}})
			if err != nil {
				t.Fatal(err)
			}
			var got []diag
			for _, d := range all[0] {
				got = append(got, diag{d.Summary, d.Path})
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(cty.Path.Equals)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// diag is the part of a diagnostic validation tests compare.
type diag struct {
	Summary string
	Path    cty.Path
}

func TestPlan(t *testing.T) {
	tests := map[string]struct {
		args cty.Value
		want string
	}{
		"command":   {args: args(map[string]cty.Value{"command": strs("make", "build", "it's here")}), want: `run make build 'it'\''s here' on local`},
		"script":    {args: args(map[string]cty.Value{"script": cty.StringVal("echo hi\necho there")}), want: `run sh -c 'echo hi …' on local`},
		"unknown":   {args: args(map[string]cty.Value{"command": cty.UnknownVal(cty.List(cty.String))}), want: "run a command (known at run time) on local"},
		"empty arg": {args: args(map[string]cty.Value{"command": strs("echo", "")}), want: "run echo '' on local"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, diags, err := sdk.InProcess(Plugin()).PlanAction(t.Context(), "run", &sdk.PlanRequest{Args: tc.args, Target: local.Target()})
			if err != nil || diags.HasErrors() {
				t.Fatal(err, diags.Err())
			}
			if diff := cmp.Diff([]string{tc.want}, resp.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPluginSchema(t *testing.T) {
	p := Plugin()
	if p.Name != "exec" || p.Version != Version {
		t.Errorf("plugin = %s %s", p.Name, p.Version)
	}
	if err := p.Schema().Validate(); err != nil {
		t.Fatal(err)
	}
	s := newRun().Schema()
	if !s.Arg("stdin").Stream || !s.Output("stream").Stream {
		t.Errorf("stdin and stream are not streams: %+v, %+v", s.Arg("stdin"), s.Output("stream"))
	}
	for name, required := range map[string]bool{"command": false, "script": false, "env": false, "expect_exit": false} {
		if a := s.Arg(name); a == nil || a.Required != required || a.Description == "" {
			t.Errorf("argument %s = %+v", name, a)
		}
	}
	want := cty.Object(map[string]cty.Type{"exit_code": cty.Number, "stdout": cty.String, "stderr": cty.String, "stream": cty.String})
	if !s.OutputsType().Equals(want) {
		t.Errorf("outputs type = %#v", s.OutputsType())
	}
}

func BenchmarkRunTrue(b *testing.B) {
	c := sdk.InProcess(Plugin())
	req := &sdk.RunRequest{Args: args(map[string]cty.Value{"command": strs("/bin/true")}), Target: local.Target(), UI: sdktest.NewUI(nil, sdk.RunInfo{})}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.RunAction(b.Context(), "run", req)
		if err != nil || resp.Diagnostics.HasErrors() {
			b.Fatal(err, resp.Diagnostics.Err())
		}
	}
}

func TestRunOverGRPC(t *testing.T) {
	res := sdktest.Run(t, Plugin(), "run", map[string]cty.Value{
		"script":      cty.StringVal("echo out; echo err >&2; exit 3"),
		"expect_exit": cty.ListVal([]cty.Value{cty.NumberIntVal(3)}),
	}, sdktest.WithTarget(local.Target()), sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	want := cty.ObjectVal(map[string]cty.Value{"exit_code": cty.NumberIntVal(3), "stdout": cty.StringVal("out"), "stderr": cty.StringVal("err"), "stream": cty.NullVal(cty.String)})
	if !res.Outputs.RawEquals(want) {
		t.Errorf("outputs = %#v", res.Outputs)
	}
	if res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Errorf("streamed stdout %q, stderr %q", res.Stdout, res.Stderr)
	}
}

func TestRunStreams(t *testing.T) {
	t.Run("stdout to the stream output", func(t *testing.T) {
		res := sdktest.Run(t, Plugin(), "run", map[string]cty.Value{"script": cty.StringVal("echo streamed; echo shown >&2")},
			sdktest.WithTarget(local.Target()), sdktest.WithOutput("stream"))
		if err := res.Diagnostics.Err(); err != nil {
			t.Fatal(err)
		}
		if got := res.Streams["stream"]; got != "streamed\n" {
			t.Errorf("stream = %q", got)
		}
		if got := res.Outputs.GetAttr("stdout").AsString(); got != "" || res.Stdout != "" {
			t.Errorf("stdout output %q, shown %q: want both empty", got, res.Stdout)
		}
		if res.Stderr != "shown\n" {
			t.Errorf("stderr %q", res.Stderr)
		}
	})
	t.Run("stdin from a stream", func(t *testing.T) {
		res := sdktest.Run(t, Plugin(), "run", map[string]cty.Value{"command": strs("tr", "a-z", "A-Z")},
			sdktest.WithTarget(local.Target()), sdktest.WithInput("stdin", strings.NewReader("piped\n")))
		if err := res.Diagnostics.Err(); err != nil {
			t.Fatal(err)
		}
		if got := res.Outputs.GetAttr("stdout").AsString(); got != "PIPED" {
			t.Errorf("stdout = %q", got)
		}
	})
	t.Run("a failed input fails the step", func(t *testing.T) {
		res := sdktest.Run(t, Plugin(), "run", map[string]cty.Value{"script": cty.StringVal("cat > /dev/null")},
			sdktest.WithTarget(local.Target()), sdktest.WithInput("stdin", io.MultiReader(strings.NewReader("part"), iotest.ErrReader(errors.New("step.dump failed: boom")))))
		if err := res.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), "step.dump failed: boom") {
			t.Fatalf("got %v, want the producer's error", err)
		}
	})
	t.Run("plan with a piped stdin", func(t *testing.T) {
		a := args(map[string]cty.Value{"command": strs("wc", "-c"), "stdin": cty.UnknownVal(cty.String)})
		resp, err := newRun().Plan(t.Context(), &sdk.PlanRequest{Args: a, Target: local.Target()})
		if err != nil || len(resp.Changes) != 1 || !strings.Contains(resp.Changes[0], "run wc -c") {
			t.Fatalf("plan = %+v, %v", resp, err)
		}
	})
}

// TestStreamFlagsOverGRPC: the schema's Stream flags cross the wire.
func TestStreamFlagsOverGRPC(t *testing.T) {
	s, err := sdktest.GRPC(t, Plugin()).GetSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a := s.Actions["run"]
	if !a.Arg("stdin").Stream || !a.Output("stream").Stream || a.Arg("script").Stream || a.Output("stdout").Stream {
		t.Errorf("stream flags over gRPC: stdin %v, stream %v, script %v, stdout %v",
			a.Arg("stdin").Stream, a.Output("stream").Stream, a.Arg("script").Stream, a.Output("stdout").Stream)
	}
}
