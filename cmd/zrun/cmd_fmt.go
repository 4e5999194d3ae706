package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"
)

func (a *app) fmtCmd() *cobra.Command {
	var check bool
	c := &cobra.Command{
		Use:   "fmt [FILE...]",
		Short: "Rewrite the project's HCL files in canonical style",
		Long:  "Rewrites zrun.hcl, workflows/*.hcl and environments/*.hcl (or the files named) in canonical HCL style.\nWith --check nothing is written; the exit code is 3 if any file needs formatting.",
		RunE: func(c *cobra.Command, args []string) error {
			files := args
			if len(files) == 0 {
				files = projectFiles(a.dir)
			}
			var diags hcl.Diagnostics
			var changed []string
			sources := map[string]*hcl.File{}
			for _, name := range files {
				src, err := os.ReadFile(name)
				if err != nil {
					return &exitError{code: exitUsage, msg: err.Error()}
				}
				f, moreDiags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
				sources[name] = f
				if moreDiags.HasErrors() {
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

// projectFiles lists the HCL files of a project folder.
func projectFiles(dir string) []string {
	var files []string
	for _, pattern := range []string{"zrun.hcl", "workflows/*.hcl", "environments/*.hcl"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
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
