package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"
	"github.com/mitchellh/go-wordwrap"
	"golang.org/x/term"

	"github.com/zrun-dev/zrun/dsl"
)

// printDiags renders diagnostics with their position as file:line:col and
// the source line with the subject underlined, followed by a count.
func (a *app) printDiags(cfg *dsl.Config, diags hcl.Diagnostics) {
	files := map[string]*hcl.File{}
	if cfg != nil {
		files = cfg.Files
	}
	a.printDiagFiles(files, diags)
}

func (a *app) printDiagFiles(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	width, color := 100, false
	if f, ok := a.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		color = !a.noColor
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 40 {
			width = w
		}
	}
	errs, warns := 0, 0
	for i, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
		if i < maxShown {
			writeDiag(a.stderr, files, d, width, color)
		}
	}
	if len(diags) > maxShown {
		fmt.Fprintf(a.stderr, "(%d more not shown: fix these first.)\n", len(diags)-maxShown)
	}
	if errs > 0 {
		fmt.Fprintf(a.stderr, "%d error(s), %d warning(s).\n", errs, warns)
	}
}

// maxShown bounds how many diagnostics are printed: a generated or broken
// file can hold a hundred thousand mistakes, and the terminal would scroll
// for minutes.
const maxShown = 100

// writeDiag renders one diagnostic:
//
//	Error: Unsupported argument
//	  --> workflows/deploy.hcl:12:5
//	   |
//	12 |     colour = "red"
//	   |     ^^^^^^
//	An argument named "colour" is not expected here.
func writeDiag(w io.Writer, files map[string]*hcl.File, d *hcl.Diagnostic, width int, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	label := paint("1;31", "Error")
	if d.Severity == hcl.DiagWarning {
		label = paint("1;33", "Warning")
	}
	fmt.Fprintf(w, "%s: %s\n", label, paint("1", d.Summary))
	if s := d.Subject; s != nil {
		fmt.Fprintf(w, "  --> %s:%d:%d\n", s.Filename, s.Start.Line, s.Start.Column)
		if f := files[s.Filename]; f != nil {
			writeSnippet(w, f.Bytes, *s, paint)
		}
	}
	if d.Detail != "" {
		fmt.Fprintln(w, wordwrap.WrapString(d.Detail, uint(width-1)))
	}
	fmt.Fprintln(w)
}

// maxSnippet bounds how much of a source line a snippet shows: a line may
// be up to a whole file long (1 MiB).
const maxSnippet = 120

func writeSnippet(w io.Writer, src []byte, rng hcl.Range, paint func(string, string) string) {
	lines := bytes.Split(src, []byte("\n"))
	n := rng.Start.Line
	if n < 1 || n > len(lines) {
		return
	}
	line := strings.ReplaceAll(string(lines[n-1]), "\t", " ")
	gutter := fmt.Sprint(n)
	pad := strings.Repeat(" ", len(gutter))
	start := min(max(rng.Start.Column, 1), len(line)+1)
	end := rng.End.Column
	if rng.End.Line != rng.Start.Line || end <= start {
		end = len(line) + 1
	}
	line, start, end = window(line, start, end)
	under := strings.Repeat(" ", start-1) + strings.Repeat("^", max(end-start, 1))
	fmt.Fprintf(w, "%s |\n%s | %s\n%s | %s\n", pad, gutter, line, pad, paint("31", under))
}

// window cuts a line longer than maxSnippet to the part around columns
// start to end (1-based, end exclusive), marking the cuts with "...", and
// returns it with the columns moved to match.
func window(line string, start, end int) (string, int, int) {
	if len(line) <= maxSnippet {
		return line, start, end
	}
	from := max(start-1-maxSnippet/4, 0)
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	to := min(from+maxSnippet, len(line))
	for to < len(line) && !utf8.RuneStart(line[to]) {
		to++
	}
	prefix, suffix := "", ""
	if from > 0 {
		prefix = "..."
	}
	if to < len(line) {
		suffix = "..."
	}
	shift := len(prefix) - from
	return prefix + line[from:to] + suffix, start + shift, min(end+shift, len(prefix)+to-from+1)
}
