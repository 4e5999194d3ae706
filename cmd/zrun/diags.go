package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"
	"golang.org/x/term"

	"github.com/zrun-dev/zrun/dsl"
)

// printDiags renders diagnostics with source snippets, as Terraform does,
// followed by a count.
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
	width, color := uint(100), false
	if f, ok := a.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		color = !a.noColor
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			width = uint(w)
		}
	}
	wr := hcl.NewDiagnosticTextWriter(a.stderr, files, width, color)
	_ = wr.WriteDiagnostics(diags)
	errs, warns := 0, 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	if errs > 0 {
		fmt.Fprintf(a.stderr, "%d error(s), %d warning(s).\n", errs, warns)
	}
}
