package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/dsl/limits"
)

func (a *app) fmtCmd() *cobra.Command {
	var check bool
	c := &cobra.Command{
		Use:   "fmt [FILE...]",
		Short: "Rewrite the project's HCL files in canonical style",
		Long:  "Rewrites zrun.hcl, workflows/*.hcl and environments/*.hcl (or the files named) in canonical HCL style.\nWith --check nothing is written; the exit code is 3 if any file needs formatting.",
		RunE: func(c *cobra.Command, args []string) error {
			files := args
			var diags hcl.Diagnostics
			if len(files) == 0 {
				var rels []string
				rels, diags = dsl.ProjectFiles(a.dir)
				for _, rel := range rels {
					files = append(files, filepath.Join(a.dir, rel))
				}
			}
			var changed []string
			sources := map[string]*hcl.File{}
			for _, name := range files {
				src, err := dsl.ReadSource(name)
				if err != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Failed to read file",
						Detail:   fmt.Sprintf("%s, so it was not formatted. zrun formats regular files of at most 1 MiB.", err),
					})
					continue
				}
				sources[name] = &hcl.File{Bytes: src}
				// hclwrite.Format only lexes, but a file that does not
				// parse is never rewritten, and parsing must not overflow.
				if moreDiags := limits.CheckConfig(src, name); moreDiags.HasErrors() {
					diags = append(diags, moreDiags...)
					continue
				}
				if _, moreDiags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); moreDiags.HasErrors() {
					diags = append(diags, moreDiags...)
					continue // never rewrite a file that does not parse
				}
				out := hclwrite.Format(src)
				if bytes.Equal(src, out) {
					continue
				}
				changed = append(changed, name)
				if check {
					continue
				}
				if err := writeFileAtomic(name, out); err != nil {
					return &exitError{code: exitFailure, msg: err.Error()}
				}
			}
			for _, name := range changed {
				fmt.Fprintln(a.stdout, name)
			}
			if diags.HasErrors() {
				a.printDiagFiles(sources, diags)
				return &exitError{code: exitConfig}
			}
			if check && len(changed) > 0 {
				return &exitError{code: exitConfig, msg: fmt.Sprintf("%d file(s) need formatting; run zrun fmt", len(changed))}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&check, "check", false, "only check; exit 3 if any file needs formatting")
	return c
}

// writeFileAtomic replaces a file so readers never see half of it.
func writeFileAtomic(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".zrun-fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
