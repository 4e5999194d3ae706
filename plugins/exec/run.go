package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/capture"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// DefaultCaptureLimit is how many bytes of stdout (and of stderr) exec.run
// keeps in its outputs unless capture_limit says otherwise.
const DefaultCaptureLimit = 1 << 20

// errorLines is how many lines of stderr a failure message quotes.
const errorLines = 10

type runArgs struct {
	Command      []string          `zrun:"command,optional" help:"The program and its arguments, run without a shell. Exactly one of command and script must be set."`
	Script       *string           `zrun:"script" help:"A shell script, run with sh -c. Exactly one of command and script must be set."`
	Env          map[string]string `zrun:"env,optional" help:"Environment variables, added to (or overriding) the target's environment."`
	Dir          string            `zrun:"dir,optional" help:"Working directory; the target's default when unset."`
	Stdin        *string           `zrun:"stdin" help:"The command's standard input: text, or the stream another step produces (stdin = step.dump.stream), which the command reads as it is written. The step fails if that step fails, even once the command has read it all."`
	ExpectExit   []int             `zrun:"expect_exit,optional" help:"Exit codes that count as success. Default: [0]."`
	CaptureLimit *int64            `zrun:"capture_limit" help:"Maximum bytes of stdout and of stderr kept in the outputs; the rest is still streamed. Default: 1 MiB."`
}

type runOutputs struct {
	ExitCode int    `zrun:"exit_code" help:"The command's exit code; 128+N when killed by signal N."`
	Stdout   string `zrun:"stdout" help:"Captured standard output, without one trailing newline."`
	Stderr   string `zrun:"stderr" help:"Captured standard error, without one trailing newline."`
	Stream   string `zrun:"stream" help:"The command's standard output as a stream, for another step's stream argument (stdin = step.this.stream). When a step consumes it, stdout goes there as it is written, and the stdout output is empty."`
}

// run is the exec.run action.
type run struct {
	schema *schema.Action
}

func newRun() *run {
	// NewAction derives the schema from the structs; Run is our own, since
	// it needs the request's target.
	s := sdk.NewAction[runArgs, runOutputs]("run",
		"Run a command or a shell script on the step's target, streaming its output. Fails unless the exit code is one of expect_exit.",
		nil).Schema()
	s.Arg("stdin").Stream = true
	s.Output("stream").Stream = true
	return &run{schema: s}
}

func (r *run) Schema() *schema.Action { return r.schema }

// Validate checks that exactly one of command and script is set, and the
// numbers, where they are known.
func (r *run) Validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	return validateArgs(req.Args)
}

func validateArgs(args cty.Value) sdk.Diagnostics {
	var diags sdk.Diagnostics
	args, _ = args.UnmarkDeep()
	if !args.IsKnown() || args.IsNull() || !args.Type().IsObjectType() {
		return nil
	}
	command, script := attr(args, "command"), attr(args, "script")
	if command.IsKnown() && script.IsKnown() {
		switch {
		case !command.IsNull() && !script.IsNull():
			diags = diags.Errorf(cty.GetAttrPath("script"), "Conflicting arguments",
				`Only one of "command" and "script" may be set: "command" runs a program directly, "script" runs through sh -c. Remove one of them.`)
		case command.IsNull() && script.IsNull():
			diags = diags.Errorf(cty.GetAttrPath("command"), "Missing command",
				`Set either "command" (a program and its arguments, e.g. ["make", "build"]) or "script" (run with sh -c).`)
		}
	}
	diags = append(diags, validateCommand(command)...)
	if limit := attr(args, "capture_limit"); limit.IsKnown() && !limit.IsNull() && !isWhole(limit, 0, 1<<40) {
		diags = diags.Errorf(cty.GetAttrPath("capture_limit"), "Invalid capture limit",
			fmt.Sprintf("capture_limit must be a whole number of bytes, 0 or more; got %s.", limit.AsBigFloat().Text('g', -1)))
	}
	if codes := attr(args, "expect_exit"); codes.IsKnown() && !codes.IsNull() {
		for it := codes.ElementIterator(); it.Next(); {
			k, code := it.Element()
			if code.IsKnown() && (code.IsNull() || !isWhole(code, 0, 255)) {
				diags = diags.Errorf(cty.GetAttrPath("expect_exit").Index(k), "Invalid exit code",
					"Exit codes are whole numbers from 0 to 255.")
			}
		}
	}
	return diags
}

func validateCommand(command cty.Value) sdk.Diagnostics {
	var diags sdk.Diagnostics
	path := cty.GetAttrPath("command")
	if !command.IsKnown() || command.IsNull() {
		return nil
	}
	if command.LengthInt() == 0 {
		return diags.Errorf(path, "Empty command", `"command" needs at least the program to run, e.g. ["make", "build"].`)
	}
	for it := command.ElementIterator(); it.Next(); {
		k, arg := it.Element()
		if arg.IsKnown() && arg.IsNull() {
			diags = diags.Errorf(path.Index(k), "Null command argument", "Every element of \"command\" must be a string.")
		}
	}
	if first := command.Index(cty.NumberIntVal(0)); first.IsKnown() && !first.IsNull() && first.AsString() == "" {
		diags = diags.Errorf(path.Index(cty.NumberIntVal(0)), "Empty program name", "The first element of \"command\" names the program to run.")
	}
	return diags
}

// attr returns an object's attribute, or null when it has none.
func attr(obj cty.Value, name string) cty.Value {
	if !obj.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return obj.GetAttr(name)
}

func isWhole(v cty.Value, lo, hi int64) bool {
	if v.Type() != cty.Number {
		return false
	}
	f := v.AsBigFloat()
	if !f.IsInt() {
		return false
	}
	return f.Cmp(big.NewFloat(float64(lo))) >= 0 && f.Cmp(big.NewFloat(float64(hi))) <= 0
}

// Plan describes the command: "run make build on local".
func (r *run) Plan(_ context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error) {
	target := "the target"
	if req.Target != nil {
		target = req.Target.Name()
	}
	what := "a command (known at run time)"
	args, _ := req.Args.UnmarkDeep()
	if args.IsKnown() && !args.IsNull() && args.Type().HasAttribute("stdin") {
		// A piped stdin is known only at run time; the command is not.
		attrs := args.AsValueMap()
		attrs["stdin"] = cty.NullVal(cty.String)
		args = cty.ObjectVal(attrs)
	}
	if args.IsWhollyKnown() && !args.IsNull() {
		var a runArgs
		if err := sdk.FromValue(args, &a); err == nil {
			what = shellJoin(a.argv())
		}
	}
	return &sdk.PlanResponse{Changes: []string{"run " + what + " on " + target}}, nil
}

func (a *runArgs) argv() []string {
	if a.Script != nil {
		return []string{"sh", "-c", *a.Script}
	}
	return a.Command
}

// Run runs the command through req.Target and captures its output.
func (r *run) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	if diags := validateArgs(req.Args); diags.HasErrors() {
		return &sdk.RunResponse{Diagnostics: diags}, nil
	}
	var args runArgs
	if err := sdk.FromValue(req.Args, &args); err != nil {
		return nil, err
	}
	if req.Target == nil {
		return nil, errors.New("exec.run: the host gave the step no target")
	}
	limit := DefaultCaptureLimit
	if args.CaptureLimit != nil {
		limit = int(*args.CaptureLimit)
	}
	stdout, stderr := &stream{Buffer: capture.New(limit)}, &stream{Buffer: capture.New(limit)}
	if req.UI != nil {
		stdout.ui, stderr.ui = req.UI.Stdout(), req.UI.Stderr()
	}
	cmd := &sdk.Command{
		Args:   args.argv(),
		Env:    args.Env,
		Dir:    args.Dir,
		Stdout: stdout,
		Stderr: stderr,
	}
	closeStreams, err := connectStreams(req.UI, cmd, &args)
	if err != nil {
		return nil, err
	}
	res, err := req.Target.Exec(ctx, cmd)
	if cerr := closeStreams(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if !expected(res.ExitCode, args.ExpectExit) {
		return nil, exitError(res.ExitCode, args.ExpectExit, stdout.Buffer, stderr.Buffer)
	}
	if req.UI != nil {
		logTruncated(req.UI, "stdout", stdout.Buffer)
		logTruncated(req.UI, "stderr", stderr.Buffer)
	}
	return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(res.ExitCode)),
		"stdout":    cty.StringVal(strings.ToValidUTF8(stdout.String(), "\uFFFD")),
		"stderr":    cty.StringVal(strings.ToValidUTF8(stderr.String(), "\uFFFD")),
	})}, nil
}

// connectStreams gives cmd its stdin stream (a pipe from another step,
// or the text of stdin) and sends its stdout to the stream output when a
// step consumes it. The returned func runs once the command has ended: it
// closes them, so the consumer sees the stream end without waiting for
// the step, and returns the input's producer's failure, if any.
//
// A pipe that offers its descriptor (File) is handed to the command
// itself: the command reads or writes the socket, and neither this
// process nor zrun's touches the bytes. The command then sees an end of
// input however its producer ended, so the step asks (Wait) once the
// command is done: if the stream had ended, its success needs its
// producer's; if not, the command stopped reading first, and closing the
// stream stops the producer.
func connectStreams(ui sdk.UI, cmd *sdk.Command, args *runArgs) (func() error, error) {
	if ui == nil {
		if args.Stdin != nil {
			cmd.Stdin = strings.NewReader(*args.Stdin)
		}
		return func() error { return nil }, nil
	}
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	in, err := ui.InputStream("stdin")
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	var wait func() error
	if in != nil {
		closers = append(closers, in)
		cmd.Stdin = in
		if f, ok := descriptor(in); ok {
			if w, ok := in.(interface{ Wait() error }); ok {
				cmd.Stdin, wait = f, w.Wait
				closers = append(closers, f)
			} else {
				_ = f.Close()
			}
		}
	}
	out, err := ui.OutputStream("stream")
	if err != nil {
		closeAll()
		return nil, err
	}
	if out != nil {
		closers = append(closers, out)
		cmd.Stdout = out
		if f, ok := descriptor(out); ok {
			cmd.Stdout = f
			closers = append(closers, f)
		}
	}
	return func() error {
		var err error
		if wait != nil {
			err = wait()
		}
		closeAll()
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		return nil
	}, nil
}

// descriptor returns a duplicate of a stream's descriptor when it has one.
func descriptor(stream any) (*os.File, bool) {
	d, ok := stream.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, false
	}
	f, err := d.File()
	return f, err == nil
}

func logTruncated(ui sdk.UI, name string, c *capture.Buffer) {
	if c.Truncated() {
		ui.Logf("%s: kept the first %d of %d bytes in the outputs (capture_limit)", name, c.Kept(), c.Total())
	}
}

func expected(code int, want []int) bool {
	if len(want) == 0 {
		return code == 0
	}
	return slices.Contains(want, code)
}

// exitError says how the command ended and quotes the end of its stderr
// (or of its stdout when stderr is empty).
func exitError(code int, want []int, stdout, stderr *capture.Buffer) error {
	if len(want) == 0 {
		want = []int{0}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "command exited with code %d (expected %s)", code, joinInts(want))
	src, name := stderr, "stderr"
	if src.Total() == 0 {
		src, name = stdout, "stdout"
	}
	if tail := src.LastLines(errorLines); tail != "" {
		fmt.Fprintf(&b, "; last lines of %s:\n%s", name, tail)
	}
	return errors.New(strings.ToValidUTF8(b.String(), "\uFFFD"))
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// shellJoin renders argv as a shell would need it typed, for plans. A
// multi-line script shows its first line only.
func shellJoin(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		if first, _, multi := strings.Cut(a, "\n"); multi {
			a = first + " …"
		}
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' || r == '+' || r == '@' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Interface guards
var (
	_ sdk.Action    = (*run)(nil)
	_ sdk.Validator = (*run)(nil)
	_ sdk.Planner   = (*run)(nil)
)
