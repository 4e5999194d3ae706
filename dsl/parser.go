package dsl

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Files and folders of a project, relative to its root.
const (
	ProjectFile     = "zrun.hcl"
	WorkflowsDir    = "workflows"
	EnvironmentsDir = "environments"
)

// Parser loads projects. It wraps hclparse.Parser, which caches every file
// it parses by name: use a new Parser to see files that changed on disk.
// A Parser is not safe for concurrent use.
type Parser struct {
	p *hclparse.Parser
}

// NewParser returns a Parser with an empty file cache.
func NewParser() *Parser {
	return &Parser{p: hclparse.NewParser()}
}

// sourceFile is one file of a project: its name relative to the project
// folder (for the hash), its parsed form and its bytes.
type sourceFile struct {
	name string
	rel  string
	file *hcl.File
	src  []byte
}

// LoadProject loads the project in dir: zrun.hcl when present, then
// workflows/*.hcl and environments/*.hcl. Any file may hold any kind of
// top-level block. It reports every problem it finds at once and returns a
// usable partial Config even when there are errors (nil only when dir
// cannot be read).
func (p *Parser) LoadProject(dir string) (*Config, hcl.Diagnostics) {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		detail := fmt.Sprintf("The project folder %s does not exist. Give the folder that holds zrun.hcl, workflows/ and environments/ with -C.", dir)
		if err == nil {
			detail = fmt.Sprintf("%s is a file, not a folder. Give the folder that holds zrun.hcl, workflows/ and environments/ with -C.", dir)
		} else if !os.IsNotExist(err) {
			detail = fmt.Sprintf("The project folder %s cannot be read: %s.", dir, err)
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Project folder not found", Detail: detail}}
	}

	rels, diags := projectFiles(dir)
	files := make([]sourceFile, 0, len(rels))
	for _, rel := range rels {
		name := filepath.Join(dir, rel)
		src, err := os.ReadFile(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Failed to read file",
				Detail:   fmt.Sprintf("The file %s cannot be read: %s.", name, err),
			})
			continue
		}
		// Positions are relative to the project folder, as the operator
		// thinks of them (workflows/deploy.hcl:12:5), whatever -C was.
		display := filepath.ToSlash(rel)
		f, moreDiags := p.p.ParseHCL(src, display)
		diags = append(diags, moreDiags...)
		if f != nil {
			numDiags := checkNumberLiterals(f)
			diags = append(diags, numDiags...)
			if numDiags.HasErrors() {
				continue // evaluating such a number would stall the load
			}
		}
		files = append(files, sourceFile{name: display, rel: display, file: f, src: src})
	}
	cfg, moreDiags := build(dir, files)
	return cfg, append(diags, moreDiags...)
}

// LoadFile loads a single file as if it were a whole project in the file's
// folder. It is meant for tests, fuzzing and tools that check one file.
func (p *Parser) LoadFile(name string, src []byte) (*Config, hcl.Diagnostics) {
	f, diags := p.p.ParseHCL(src, name)
	files := []sourceFile{{name: name, rel: filepath.Base(name), file: f, src: src}}
	if f != nil {
		numDiags := checkNumberLiterals(f)
		diags = append(diags, numDiags...)
		if numDiags.HasErrors() {
			files = nil // evaluating such a number would stall the load
		}
	}
	cfg, moreDiags := build(filepath.Dir(name), files)
	return cfg, append(diags, moreDiags...)
}

// projectFiles lists the files of the project in dir, relative to it, in
// the order they are loaded.
func projectFiles(dir string) ([]string, hcl.Diagnostics) {
	var rels []string
	if info, err := os.Stat(filepath.Join(dir, ProjectFile)); err == nil && !info.IsDir() {
		rels = append(rels, ProjectFile)
	}
	var diags hcl.Diagnostics
	for _, sub := range []string{WorkflowsDir, EnvironmentsDir} {
		matches, err := filepath.Glob(filepath.Join(dir, sub, "*.hcl"))
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to list files", Detail: err.Error()})
			continue
		}
		sort.Strings(matches)
		for _, m := range matches {
			if info, err := os.Stat(m); err == nil && info.IsDir() {
				continue
			}
			rel, err := filepath.Rel(dir, m)
			if err != nil {
				rel = m
			}
			rels = append(rels, rel)
		}
	}
	return rels, diags
}

// build decodes parsed files into a Config.
func build(dir string, files []sourceFile) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		Dir:          dir,
		Project:      &Project{RequiredPlugins: map[string]*RequiredPlugin{}},
		Workflows:    map[string]*Workflow{},
		Environments: map[string]*Environment{},
		Secrets:      map[string]*Secret{},
		Files:        map[string]*hcl.File{},
		Hash:         hashFiles(files),
	}
	d := newDecoder(dir)
	for _, sf := range files {
		if sf.file == nil {
			continue
		}
		cfg.Files[sf.name] = sf.file
		d.decodeFile(cfg, sf.file)
	}
	d.resolveEnvironments(cfg)
	addProjectSecrets(cfg)
	d.checkWorkflowCalls(cfg)
	return cfg, d.diags
}

// hashFiles returns the hex sha256 of the files' names and contents, in
// name order.
func hashFiles(files []sourceFile) string {
	sorted := append([]sourceFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].rel < sorted[j].rel })
	h := sha256.New()
	for _, sf := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00", sf.rel, len(sf.src))
		h.Write(sf.src)
	}
	return hex.EncodeToString(h.Sum(nil))
}
