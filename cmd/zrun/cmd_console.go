package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/sdk"
)

// maxConsoleLine bounds one line of console input; a longer one is an
// error, and the console goes on with the next.
const maxConsoleLine = 1 << 20

func (a *app) consoleCmd() *cobra.Command {
	var env, workflow string
	var params []string
	c := &cobra.Command{
		Use:   "console",
		Short: "Evaluate expressions in a workflow's scope, to try them out",
		Long: `console evaluates expressions, one per line, with env., param., secret., run. and
every function, as a run of the workflow would see them; nothing runs.

On a terminal it prompts with "> "; "exit", Ctrl-D or Ctrl-C ends it. Otherwise it
reads one expression per line from standard input until "exit" or its end, and
exits 3 if any line failed.`,
		Example: `  zrun console --env prod --workflow deploy --param version=1.4.2
  echo 'upper("x")' | zrun console`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			req := engine.ConsoleRequest{Env: env, Workflow: workflow, Params: map[string]string{}}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return &exitError{code: exitUsage, msg: fmt.Sprintf("--param %q: want name=value", p)}
				}
				req.Params[k] = v
			}
			return a.console(ctxOf(c), req)
		},
	}
	c.Flags().StringVarP(&env, "env", "e", os.Getenv("ZRUN_ENV"), "environment whose values env. reads (default $ZRUN_ENV; optional when the project has at most one)")
	c.Flags().StringVarP(&workflow, "workflow", "w", "", "workflow whose params param. reads (default: the project's only workflow, if it has one)")
	c.Flags().StringArrayVarP(&params, "param", "p", nil, "set a param, `name=value` (repeatable)")
	_ = c.RegisterFlagCompletionFunc("workflow", a.completeWorkflows)
	return c
}

func (a *app) console(ctx context.Context, req engine.ConsoleRequest) error {
	cfg, err := a.project()
	if err != nil {
		return err
	}
	con, diags := engine.New(engine.Options{Config: cfg}).Console(ctx, req)
	if diags.HasErrors() {
		return a.diagError(cfg, diags)
	}
	a.printDiags(cfg, diags)
	in, interactive := consoleInput(ctx, os.Stdin, a.stdout)
	failed := false
	for ctx.Err() == nil { // an interrupt while a secret's command ran ends it too
		line, err := in.readLine()
		switch {
		case errors.Is(err, io.EOF) || ctx.Err() != nil:
			return consoleExit(ctx, failed, interactive)
		case err == nil && strings.TrimSpace(line) == "":
			continue
		case err == nil && strings.TrimSpace(line) == "exit":
			return consoleExit(ctx, failed, interactive)
		case err == nil:
			line, err = in.rest(line)
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return err
		}
		if !a.consoleLine(ctx, con, cfg, line, err) {
			failed = true
		}
	}
	return consoleExit(ctx, failed, interactive)
}

// consoleLine evaluates one expression and prints its value, or its
// diagnostics (those of readErr, errLineTooLong, if it is set). It
// reports whether it succeeded.
func (a *app) consoleLine(ctx context.Context, con *engine.Console, cfg *dsl.Config, src string, readErr error) bool {
	diags := tooLong()
	if readErr == nil {
		var v cty.Value
		v, diags = con.Eval(ctx, src)
		if !diags.HasErrors() {
			fmt.Fprintln(a.stdout, con.Mask(formatValue(v, 0)))
		}
	}
	files := map[string]*hcl.File{engine.ConsoleFile: {Bytes: []byte(src)}}
	for name, f := range cfg.Files {
		files[name] = f
	}
	a.printDiagFiles(files, diags)
	return !diags.HasErrors()
}

// consoleExit is the console's exit code: 0, or 3 when a line of input
// that is not a terminal failed, so that scripts notice.
func consoleExit(ctx context.Context, failed, interactive bool) error {
	switch {
	case ctx.Err() != nil:
		return &exitError{code: exitInterrupted}
	case failed && !interactive:
		return &exitError{code: exitConfig}
	}
	return nil
}

var errLineTooLong = errors.New("line too long")

func tooLong() hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Line too long",
		Detail: fmt.Sprintf("A console expression is at most %d bytes.", maxConsoleLine)}}
}

// lineReader reads console input a line at a time.
type lineReader interface {
	readLine() (string, error)
	// setPrompt sets the prompt of the lines to come, on a terminal.
	setPrompt(string)
}

// consoleLines reads console input an expression at a time.
type consoleLines struct{ lineReader }

// rest returns the expression that starts with first: first, and the
// lines after it while brackets, parentheses, an interpolation or a
// heredoc are open (the end of input ends it too).
func (l consoleLines) rest(first string) (string, error) {
	src := first
	l.setPrompt("  ")
	defer l.setPrompt("> ")
	for unfinished(src) {
		line, err := l.readLine()
		if errors.Is(err, io.EOF) {
			return src, nil // evaluated as it is: the error says what is missing
		}
		if err != nil {
			return "", err
		}
		if len(src)+len(line) > maxConsoleLine {
			return "", errLineTooLong
		}
		src += "\n" + line
	}
	if src != first {
		src += "\n" // a heredoc's closing line ends with one
	}
	return src, nil
}

// unfinished reports whether src ends inside brackets, parentheses, an
// interpolation or a heredoc.
func unfinished(src string) bool {
	// The newline a heredoc's opening line needs to be lexed as one.
	tokens, _ := hclsyntax.LexExpression([]byte(src+"\n"), engine.ConsoleFile, hcl.InitialPos)
	depth := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl, hclsyntax.TokenOHeredoc:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCHeredoc:
			depth--
		}
	}
	return depth > 0
}

// consoleInput reads from in: with line editing and history when in and
// out are a terminal, plain lines otherwise.
func consoleInput(ctx context.Context, in *os.File, out io.Writer) (consoleLines, bool) {
	outFile, ok := out.(*os.File)
	if !ok || !isatty.IsTerminal(in.Fd()) || !isatty.IsTerminal(outFile.Fd()) {
		return consoleLines{newAsyncLines(ctx, &plainLines{r: bufio.NewReader(in)})}, false
	}
	rw := struct {
		io.Reader
		io.Writer
	}{in, outFile}
	return consoleLines{&termLines{fd: int(in.Fd()), t: term.NewTerminal(rw, "> ")}}, true
}

// termLines reads lines with x/term's editor. The terminal is raw only
// while a line is read, so that what is printed between lines, on stdout
// and stderr, is printed as usual and Ctrl-C between lines (reading a
// secret) interrupts as anywhere else.
type termLines struct {
	fd int
	t  *term.Terminal
}

func (l *termLines) setPrompt(p string) { l.t.SetPrompt(p) }

func (l *termLines) readLine() (string, error) {
	old, err := term.MakeRaw(l.fd)
	if err != nil {
		return "", err
	}
	line, err := l.t.ReadLine()
	_ = term.Restore(l.fd, old)
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil // a pasted line is a line
	}
	if len(line) > maxConsoleLine {
		return "", errLineTooLong
	}
	return line, err
}

// plainLines reads lines of at most maxConsoleLine bytes; a longer line
// is skipped whole, as errLineTooLong.
type plainLines struct{ r *bufio.Reader }

func (*plainLines) setPrompt(string) {}

func (l *plainLines) readLine() (string, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong && len(buf)+len(chunk) <= maxConsoleLine+1 {
			buf = append(buf, chunk...)
		} else {
			tooLong, buf = true, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (len(buf) == 0 && !tooLong) {
			return "", err // io.EOF, or a read error, with nothing read
		}
		if tooLong {
			return "", errLineTooLong
		}
		return strings.TrimRight(string(buf), "\r\n"), nil
	}
}

// asyncLines reads lines in a goroutine of its own, so that an interrupt
// ends the console while it waits for input (a pipe a user types into).
type asyncLines struct {
	ctx   context.Context
	lines chan lineOrErr
}

type lineOrErr struct {
	line string
	err  error
}

func newAsyncLines(ctx context.Context, r lineReader) *asyncLines {
	l := &asyncLines{ctx: ctx, lines: make(chan lineOrErr)}
	goSafe(func() {
		for {
			line, err := r.readLine()
			select {
			case l.lines <- lineOrErr{line, err}:
			case <-ctx.Done():
				return
			}
			if err != nil && !errors.Is(err, errLineTooLong) {
				close(l.lines)
				return
			}
		}
	})
	return l
}

func (l *asyncLines) setPrompt(string) {}

// readLine returns the next line; after an interrupt, io.EOF, and the
// console's exit code says it was interrupted.
func (l *asyncLines) readLine() (string, error) {
	select {
	case r, ok := <-l.lines:
		if !ok {
			return "", io.EOF
		}
		return r.line, r.err
	case <-l.ctx.Done():
		return "", io.EOF
	}
}

// knownAtRunTime stands for an unknown value: one only a run has (run.id,
// a required param not given).
const knownAtRunTime = "(known at run time)"

// sensitiveValue stands for a sensitive value, as Terraform's console
// shows one.
const sensitiveValue = "(sensitive value)"

// formatValue renders v in HCL syntax as `terraform console` does:
// strings quoted (a multi-line one as a heredoc), a list, set or map with
// the conversion that makes it (tolist, toset, tomap), nested values on
// lines of their own, indented by indent.
func formatValue(v cty.Value, indent int) string {
	if v.HasMark(sdk.Sensitive) {
		return sensitiveValue
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		return knownAtRunTime
	}
	ty := v.Type()
	if v.IsNull() {
		return formatNull(ty)
	}
	switch {
	case ty == cty.String:
		if s, ok := formatHeredoc(v.AsString(), indent); ok {
			return s
		}
		return quoteHCL(v.AsString())
	case ty == cty.Number:
		return formatNumber(v.AsBigFloat())
	case ty == cty.Bool:
		return fmt.Sprint(v.True())
	case ty.IsObjectType():
		return formatMapping(v, indent)
	case ty.IsTupleType():
		return formatSequence(v, indent)
	case ty.IsListType():
		return "tolist(" + formatSequence(v, indent) + ")"
	case ty.IsSetType():
		return "toset(" + formatSequence(v, indent) + ")"
	case ty.IsMapType():
		return "tomap(" + formatMapping(v, indent) + ")"
	}
	return ty.FriendlyName() // capsule types: none reach the console today
}

func formatNull(ty cty.Type) string {
	switch {
	case ty == cty.DynamicPseudoType:
		return "null"
	case ty == cty.String:
		return "tostring(null)"
	case ty == cty.Number:
		return "tonumber(null)"
	case ty == cty.Bool:
		return "tobool(null)"
	case ty.IsListType():
		return fmt.Sprintf("tolist(null) /* of %s */", ty.ElementType().FriendlyName())
	case ty.IsSetType():
		return fmt.Sprintf("toset(null) /* of %s */", ty.ElementType().FriendlyName())
	case ty.IsMapType():
		return fmt.Sprintf("tomap(null) /* of %s */", ty.ElementType().FriendlyName())
	}
	return fmt.Sprintf("null /* %s */", ty.FriendlyName())
}

// maxPrintedExponent bounds the binary exponent of a number printed:
// the digits of 1e99999999 take minutes to compute. Console.Eval refuses
// such numbers; this is the last guard.
const maxPrintedExponent = 1 << 12

func formatNumber(f *big.Float) string {
	if e := f.MantExp(nil); e > maxPrintedExponent || e < -maxPrintedExponent {
		return fmt.Sprintf("(a number beyond ±2^%d)", maxPrintedExponent)
	}
	return f.Text('f', -1)
}

// formatHeredoc renders a string of several lines as a heredoc whose
// delimiter is no line of it.
func formatHeredoc(s string, indent int) (string, bool) {
	lines := strings.Split(s, "\n")
	if len(lines) < 2 {
		return "", false
	}
	op, delim := "<<", "EOT"
	if indent > 0 {
		op = "<<-"
	}
	for taken := true; taken; {
		taken = false
		for _, l := range lines {
			if strings.TrimSpace(l) == delim {
				delim += "_"
				taken = true
				break
			}
		}
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString(op + delim)
	for _, l := range lines {
		b.WriteString("\n" + pad + l)
	}
	b.WriteString("\n" + pad + delim)
	return b.String(), true
}

// quoteHCL quotes s as an HCL string literal: Go's escapes where HCL has
// them, \u for other control characters, and $${ and %%{ so that the
// literal is not read as a template.
func quoteHCL(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$', '%':
			b.WriteRune(r)
			if strings.HasPrefix(s[i+1:], "{") {
				b.WriteRune(r)
			}
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func formatMapping(v cty.Value, indent int) string {
	return formatElements(v, indent, "{", "}", func(k, ev cty.Value) string {
		return formatValue(k, indent+2) + " = " + formatValue(ev, indent+2)
	})
}

func formatSequence(v cty.Value, indent int) string {
	return formatElements(v, indent, "[", "]", func(_, ev cty.Value) string {
		return formatValue(ev, indent+2) + ","
	})
}

// formatElements writes each element of v on a line of its own, indented
// two more than its brackets.
func formatElements(v cty.Value, indent int, open, close string, element func(k, v cty.Value) string) string {
	var b strings.Builder
	b.WriteString(open)
	pad := strings.Repeat(" ", indent+2)
	n := 0
	for it := v.ElementIterator(); it.Next(); n++ {
		b.WriteString("\n" + pad + element(it.Element()))
	}
	if n > 0 {
		b.WriteString("\n" + strings.Repeat(" ", indent))
	}
	b.WriteString(close)
	return b.String()
}

// Interface guards
var (
	_ lineReader = (*termLines)(nil)
	_ lineReader = (*plainLines)(nil)
	_ lineReader = (*asyncLines)(nil)
)
