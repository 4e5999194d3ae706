package rpc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// action is a test action built from functions.
type action struct {
	schema *schema.Action
	run    func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error)
}

func (a *action) Schema() *schema.Action { return a.schema }
func (a *action) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	return a.run(ctx, req)
}

type validatingAction struct {
	*action
	validate func(req *sdk.ValidateRequest) sdk.Diagnostics
}

func (a *validatingAction) Validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	return a.validate(req)
}

type planningAction struct {
	*action
	plan func(ctx context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error)
}

func (a *planningAction) Plan(ctx context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error) {
	return a.plan(ctx, req)
}

var nestedType = cty.Object(map[string]cty.Type{
	"list": cty.List(cty.String),
	"map":  cty.Map(cty.Number),
	"obj":  cty.Object(map[string]cty.Type{"flag": cty.Bool, "none": cty.String}),
})

func attr(name string, ty cty.Type, sensitive bool) *schema.Attribute {
	return &schema.Attribute{Name: name, Type: ty, Description: "the " + name, Sensitive: sensitive}
}

// echo returns its arguments as outputs, and the paths of the marks it
// received as "marked".
func echo() sdk.Action {
	return &action{
		schema: &schema.Action{
			Name: "echo", Description: "Echo the arguments.",
			Args:    []*schema.Attribute{attr("secret", cty.String, true), attr("nested", nestedType, false), attr("any", cty.DynamicPseudoType, false)},
			Outputs: []*schema.Attribute{attr("secret", cty.String, true), attr("nested", nestedType, false), attr("any", cty.DynamicPseudoType, false), attr("marked", cty.List(cty.String), false)},
		},
		run: func(_ context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			_, pvms := req.Args.UnmarkDeepWithPaths()
			marked := []cty.Value{}
			for _, pvm := range pvms {
				marked = append(marked, cty.StringVal(fmt.Sprintf("%#v", pvm.Path)))
			}
			attrs := req.Args.AsValueMap()
			attrs["marked"] = cty.ListVal(append(marked, cty.StringVal("end")))
			return &sdk.RunResponse{Outputs: cty.ObjectVal(attrs)}, nil
		},
	}
}

func logs() sdk.Action {
	return &action{
		schema: &schema.Action{Name: "logs"},
		run: func(_ context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			req.UI.Logf("starting %s", req.Info.Step)
			req.UI.Progress(1, 3, "one")
			_, _ = io.WriteString(req.UI.Stdout(), "a\nb")
			_, _ = io.WriteString(req.UI.Stdout(), "c\r\n")
			_, _ = io.WriteString(req.UI.Stderr(), "oops\n")
			_, _ = io.WriteString(req.UI.Stdout(), "tail")
			req.UI.Progress(3, 3, "done")
			return nil, nil
		},
	}
}

func validating() sdk.Action {
	return &validatingAction{
		action: &action{
			schema: &schema.Action{Name: "validating", Args: []*schema.Attribute{attr("nested", nestedType, false)}},
			run:    func(context.Context, *sdk.RunRequest) (*sdk.RunResponse, error) { return nil, nil },
		},
		validate: func(req *sdk.ValidateRequest) sdk.Diagnostics {
			if req.Args.GetAttr("nested").IsKnown() {
				return nil
			}
			return sdk.Diagnostics{
				{Severity: sdk.Warning, Summary: "Unknown nested", Detail: "It is not known yet.",
					Path: cty.GetAttrPath("nested").GetAttr("list").IndexInt(1)},
				{Severity: sdk.Error, Summary: "Bad key", Path: cty.GetAttrPath("nested").GetAttr("map").IndexString("k")},
			}
		},
	}
}

func planning() sdk.Action {
	return &planningAction{
		action: &action{
			schema: &schema.Action{Name: "planning"},
			run:    func(context.Context, *sdk.RunRequest) (*sdk.RunResponse, error) { return nil, nil },
		},
		plan: func(ctx context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error) {
			r, err := req.Target.Open(ctx, "/etc/motd")
			if err != nil {
				return nil, err
			}
			defer r.Close()
			data, err := io.ReadAll(r)
			if err != nil {
				return nil, err
			}
			return &sdk.PlanResponse{Changes: []string{"replace " + string(data) + " on " + req.Target.Name()}, NoOp: false}, nil
		},
	}
}

// blocking waits for its ctx and reports the cancellation on started/seen.
func blocking(started, seen chan<- error) sdk.Action {
	return &action{
		schema: &schema.Action{Name: "blocking"},
		run: func(ctx context.Context, _ *sdk.RunRequest) (*sdk.RunResponse, error) {
			started <- nil
			<-ctx.Done()
			seen <- ctx.Err()
			return nil, ctx.Err()
		},
	}
}

func panicking() sdk.Action {
	return &action{
		schema: &schema.Action{Name: "panicking"},
		run:    func(context.Context, *sdk.RunRequest) (*sdk.RunResponse, error) { panic("boom") },
	}
}

// targetUser exercises every Target call and reports what it saw.
func targetUser(echoAddr string) sdk.Action {
	return &action{
		schema: &schema.Action{Name: "target_user", Outputs: []*schema.Attribute{attr("report", cty.List(cty.String), false)}},
		run: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			var report []string
			add := func(format string, args ...any) { report = append(report, fmt.Sprintf(format, args...)) }
			t := req.Target
			add("name=%s", t.Name())

			var stdout, stderr strings.Builder
			res, err := t.Exec(ctx, &sdk.Command{Args: []string{"cat", "-n"}, Env: map[string]string{"K": "v"}, Dir: "/work", Sudo: true, NewConnection: true,
				Stdin: strings.NewReader("in put"), Stdout: &stdout, Stderr: &stderr})
			if err != nil {
				return nil, fmt.Errorf("exec: %w", err)
			}
			add("exec exit=%d stdout=%q stderr=%q", res.ExitCode, stdout.String(), stderr.String())
			if res, err := t.Exec(ctx, &sdk.Command{Args: []string{"false"}}); err == nil {
				add("false exit=%d", res.ExitCode)
			}
			_, err = t.Exec(ctx, &sdk.Command{Args: []string{"missing"}})
			add("missing err=%v", err)

			w, err := t.Create(ctx, "/out", &sdk.CreateOptions{Mode: 0o600})
			if err != nil {
				return nil, fmt.Errorf("create: %w", err)
			}
			_, _ = io.WriteString(w, "written")
			if err := w.Close(); err != nil {
				return nil, fmt.Errorf("close: %w", err)
			}
			r, err := t.Open(ctx, "/out")
			if err != nil {
				return nil, fmt.Errorf("open: %w", err)
			}
			data, err := io.ReadAll(r)
			_ = r.Close()
			add("read=%q err=%v", data, err)
			fi, err := t.Stat(ctx, "/out")
			add("stat=%s %d %v err=%v", fi.Name, fi.Size, fi.Mode, err)
			_, err = t.Open(ctx, "/nope")
			add("not exist=%v", errors.Is(err, fs.ErrNotExist))

			conn, err := t.Dial(ctx, "tcp", echoAddr)
			if err != nil {
				return nil, fmt.Errorf("dial: %w", err)
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(conn, "ping\n")
			line, err := bufio.NewReader(conn).ReadString('\n')
			add("dial remote=%s got=%q err=%v", conn.RemoteAddr(), line, err)
			_ = conn.Close()
			_, err = t.Dial(ctx, "tcp", "127.0.0.1:1")
			add("dial refused=%v", err != nil)
			return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"report": toList(report)})}, nil
		},
	}
}

func toList(ss []string) cty.Value {
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func testPlugin(actions ...sdk.Action) *sdk.Plugin {
	return &sdk.Plugin{Name: "test", Version: "1.2.3", Description: "A test plugin.", Actions: actions}
}

func TestGetSchema(t *testing.T) {
	p := testPlugin(echo(), logs(), validating())
	got, err := sdktest.GRPC(t, p).GetSchema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p.Schema(), got, ctyCmp); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
}

func TestValidateActions(t *testing.T) {
	client := sdktest.GRPC(t, testPlugin(validating(), panicking()))
	known := cty.ObjectVal(map[string]cty.Value{"nested": cty.NullVal(nestedType)})
	unknown := cty.ObjectVal(map[string]cty.Value{"nested": cty.UnknownVal(nestedType)})
	// One call checks many steps; each answer stands alone, in order.
	got, err := client.ValidateActions(t.Context(), []*sdk.ValidateRequest{
		{Action: "validating", Args: known},
		{Action: "validating", Args: unknown},
		{Action: "nope", Args: cty.EmptyObjectVal},
		{Action: "validating", Args: known},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.Diagnostics{
		nil,
		{
			{Severity: sdk.Warning, Summary: "Unknown nested", Detail: "It is not known yet.",
				Path: cty.GetAttrPath("nested").GetAttr("list").IndexInt(1)},
			{Severity: sdk.Error, Summary: "Bad key", Path: cty.GetAttrPath("nested").GetAttr("map").IndexString("k")},
		},
		{{Severity: sdk.Error, Summary: "Unknown action", Detail: `Plugin "test" has no action "nope"; it has: [panicking validating].`}},
		nil,
	}
	if diff := cmp.Diff(want, got, ctyCmp); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	if got, err := client.ValidateActions(t.Context(), nil); err != nil || len(got) != 0 {
		t.Errorf("no calls: got %v, %v", got, err)
	}
}

var ctyCmp = cmp.Options{
	cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) }),
	cmp.Comparer(cty.Type.Equals),
	cmp.Comparer(cty.Path.Equals),
}

func TestPlanAction(t *testing.T) {
	target := &sdktest.Target{TargetName: "web1", Files: map[string][]byte{"/etc/motd": []byte("hello")}}
	client := sdktest.GRPC(t, testPlugin(planning(), logs()))
	tests := map[string]struct {
		action string
		target sdk.Target
		want   *sdk.PlanResponse
		diags  string
	}{
		"planner uses target": {action: "planning", target: target, want: &sdk.PlanResponse{Changes: []string{"replace hello on web1"}}},
		"plan error":          {action: "planning", target: &sdktest.Target{}, want: &sdk.PlanResponse{}, diags: "Plan failed: open /etc/motd: file does not exist"},
		"default plan":        {action: "logs", want: &sdk.PlanResponse{Changes: []string{"run test.logs"}}},
		"unknown action":      {action: "nope", want: &sdk.PlanResponse{}, diags: `Unknown action: Plugin "test" has no action "nope"; it has: [logs planning].`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, diags, err := client.PlanAction(t.Context(), tc.action, &sdk.PlanRequest{Args: cty.EmptyObjectVal, Target: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if gotDiags := errString(diags.Err()); gotDiags != tc.diags {
				t.Errorf("diagnostics: got %q, want %q", gotDiags, tc.diags)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestRunActionLogs(t *testing.T) {
	for name, opts := range map[string][]sdktest.Option{"grpc": {sdktest.OverGRPC()}, "in process": nil} {
		t.Run(name, func(t *testing.T) {
			res := sdktest.Run(t, testPlugin(logs()), "logs", nil, opts...)
			if res.Diagnostics.HasErrors() {
				t.Fatal(res.Diagnostics.Err())
			}
			want := sdktest.Record{
				Logs:     []string{"starting step.logs"},
				Stdout:   "a\nbc\r\ntail",
				Stderr:   "oops\n",
				Progress: []sdktest.Progress{{Done: 1, Total: 3, Message: "one"}, {Done: 3, Total: 3, Message: "done"}},
			}
			if diff := cmp.Diff(want, res.Record); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunActionValues(t *testing.T) {
	client := sdktest.GRPC(t, testPlugin(echo()))
	nested := cty.ObjectVal(map[string]cty.Value{
		"list": cty.ListVal([]cty.Value{cty.StringVal("x"), cty.NullVal(cty.String)}),
		"map":  cty.MapVal(map[string]cty.Value{"k": cty.NumberFloatVal(1.5)}),
		"obj":  cty.ObjectVal(map[string]cty.Value{"flag": cty.True, "none": cty.NullVal(cty.String)}),
	})
	tests := map[string]struct {
		args       map[string]cty.Value
		wantMarked []string
	}{
		"nested and nulls": {
			args: map[string]cty.Value{"secret": cty.NullVal(cty.String), "nested": nested,
				"any": cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.StringVal("two")})},
			wantMarked: []string{"end"},
		},
		"all null": {
			args:       map[string]cty.Value{"secret": cty.NullVal(cty.String), "nested": cty.NullVal(nestedType), "any": cty.NullVal(cty.DynamicPseudoType)},
			wantMarked: []string{"end"},
		},
		"sensitive paths": {
			args: map[string]cty.Value{"secret": cty.StringVal("hunter2").Mark("anything"), "any": cty.NullVal(cty.DynamicPseudoType),
				"nested": cty.ObjectVal(map[string]cty.Value{
					"list": cty.ListVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y").Mark(sdk.Sensitive)}),
					"map":  cty.MapVal(map[string]cty.Value{"k": cty.NumberIntVal(1).Mark(sdk.Sensitive)}),
					"obj":  cty.NullVal(nestedType.AttributeType("obj")),
				})},
			// Marks cross the wire, but actions get plain values (as
			// Terraform's providers do): the host masks secrets.
			wantMarked: []string{"end"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := cty.ObjectVal(tc.args)
			resp, err := client.RunAction(t.Context(), "echo", &sdk.RunRequest{Args: args, UI: sdktest.NewUI(nil, sdk.RunInfo{})})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Diagnostics.HasErrors() {
				t.Fatal(resp.Diagnostics.Err())
			}
			// The action echoes what it got: plain values.
			wantOut := map[string]cty.Value{}
			for k, v := range tc.args {
				wantOut[k], _ = v.UnmarkDeep()
			}
			marked := resp.Outputs.GetAttr("marked")
			delete(resp.Outputs.AsValueMap(), "marked")
			gotOut := resp.Outputs.AsValueMap()
			delete(gotOut, "marked")
			if diff := cmp.Diff(wantOut, gotOut, ctyCmp); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			var gotMarked []string
			for _, v := range marked.AsValueSlice() {
				gotMarked = append(gotMarked, v.AsString())
			}
			sort.Strings(gotMarked[:len(gotMarked)-1])
			if diff := cmp.Diff(tc.wantMarked, gotMarked); diff != "" {
				t.Errorf("marked paths the action saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunActionDiagnostics(t *testing.T) {
	client := sdktest.GRPC(t, testPlugin(panicking(), logs()))
	tests := map[string]struct {
		action      string
		wantSummary string
		wantDetail  string
	}{
		"panic":          {action: "panicking", wantSummary: "Plugin panicked", wantDetail: `Plugin "test" panicked in action "panicking": boom`},
		"unknown action": {action: "nope", wantSummary: "Unknown action", wantDetail: `Plugin "test" has no action "nope"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := client.RunAction(t.Context(), tc.action, &sdk.RunRequest{Args: cty.EmptyObjectVal, UI: sdktest.NewUI(nil, sdk.RunInfo{})})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Diagnostics) != 1 {
				t.Fatalf("want one diagnostic, got %#v", resp.Diagnostics)
			}
			d := resp.Diagnostics[0]
			if d.Severity != sdk.Error || d.Summary != tc.wantSummary || !strings.HasPrefix(d.Detail, tc.wantDetail) {
				t.Errorf("got %v %q %q, want an error %q starting %q", d.Severity, d.Summary, d.Detail, tc.wantSummary, tc.wantDetail)
			}
		})
	}
	// The plugin survives a panic.
	if _, err := client.GetSchema(t.Context()); err != nil {
		t.Fatalf("after a panic: %s", err)
	}
}

func TestRunActionCancel(t *testing.T) {
	started, seen := make(chan error, 1), make(chan error, 1)
	client := sdktest.GRPC(t, testPlugin(blocking(started, seen)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := client.RunAction(ctx, "blocking", &sdk.RunRequest{Args: cty.EmptyObjectVal, UI: sdktest.NewUI(nil, sdk.RunInfo{})})
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-seen:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("action's ctx: got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancellation did not reach the action")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunAction: got %v, want context.Canceled", err)
	}
}

func TestTargetThroughBroker(t *testing.T) {
	addr := echoServer(t)
	target := &sdktest.Target{
		TargetName: "web1",
		Commands: map[string]func(context.Context, *sdk.Command) (int, error){
			"cat": func(_ context.Context, cmd *sdk.Command) (int, error) {
				in, err := io.ReadAll(cmd.Stdin)
				fmt.Fprintf(cmd.Stdout, "%s|%v|%s|%s|sudo=%v|new=%v", in, cmd.Args, cmd.Env["K"], cmd.Dir, cmd.Sudo, cmd.NewConnection)
				fmt.Fprint(cmd.Stderr, "warn")
				return 0, err
			},
			"false": func(context.Context, *sdk.Command) (int, error) { return 1, nil },
		},
	}
	res := sdktest.Run(t, testPlugin(targetUser(addr)), "target_user", nil, sdktest.OverGRPC(), sdktest.WithTarget(target))
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics.Err())
	}
	var got []string
	for _, v := range res.Outputs.GetAttr("report").AsValueSlice() {
		got = append(got, v.AsString())
	}
	want := []string{
		"name=web1",
		`exec exit=0 stdout="in put|[cat -n]|v|/work|sudo=true|new=true" stderr="warn"`,
		"false exit=1",
		`missing err=sdktest.Target: no command registered for ["missing"]`,
		`read="written" err=<nil>`,
		"stat=out 7 -rw------- err=<nil>",
		"not exist=true",
		fmt.Sprintf("dial remote=%s got=%q err=<nil>", addr, "ping\n"),
		"dial refused=true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if data, _ := target.File("/out"); string(data) != "written" {
		t.Errorf("the host's target has /out = %q", data)
	}
}

// echoServer serves lines back to their sender until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	return listen(t, func(c *net.TCPConn) { _, _ = io.Copy(c, c) })
}
