package dsl

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/zrun-dev/zrun/dsl/limits"
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
	// maxProject is MaxProjectSize; tests lower it.
	maxProject int
}

// NewParser returns a Parser with an empty file cache.
func NewParser() *Parser {
	return &Parser{p: hclparse.NewParser(), maxProject: MaxProjectSize}
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

	rels, diags := ProjectFiles(dir)
	files := make([]sourceFile, 0, len(rels))
	total := 0
	for _, rel := range rels {
		name := filepath.Join(dir, rel)
		// Positions are relative to the project folder, as the operator
		// thinks of them (workflows/deploy.hcl:12:5), whatever -C was.
		display := filepath.ToSlash(rel)
		src, err := ReadSource(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Failed to read file",
				Detail: fmt.Sprintf("The file %s cannot be read: %s. A project file is a regular file of at most %d MiB; remove or replace it.",
					display, errText(err), limits.MaxSourceSize>>20),
			})
			continue
		}
		if total+len(src) > p.maxProject {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Project too large",
				Detail:   fmt.Sprintf("The project's files are larger than %d MiB together, so %s and the files after it were not read.", p.maxProject>>20, display),
			})
			break
		}
		total += len(src)
		f, moreDiags := p.parse(display, src)
		diags = append(diags, moreDiags...)
		files = append(files, sourceFile{name: display, rel: display, file: f, src: src})
	}
	cfg, moreDiags := build(dir, files)
	return cfg, append(diags, moreDiags...)
}

// ReadSource reads an HCL file: a regular file of at most
// limits.MaxSourceSize bytes.
func ReadSource(name string) ([]byte, error) {
	return limits.ReadRegular(name, limits.MaxSourceSize)
}

// MaxProjectSize bounds the size of a project's files together.
const MaxProjectSize = 16 << 20

// LoadFile loads a single file as if it were a whole project in the file's
// folder. It is meant for tests, fuzzing and tools that check one file.
func (p *Parser) LoadFile(name string, src []byte) (*Config, hcl.Diagnostics) {
	f, diags := p.parse(name, src)
	files := []sourceFile{{name: name, rel: filepath.Base(name), file: f, src: src}}
	cfg, moreDiags := build(filepath.Dir(name), files)
	return cfg, append(diags, moreDiags...)
}

// parse parses one file. A file nested too deeply to parse safely, or
// holding a number too large to evaluate, comes back with an empty body:
// the rest of the project is still decoded and checked.
func (p *Parser) parse(name string, src []byte) (*hcl.File, hcl.Diagnostics) {
	if diags := limits.CheckConfig(src, name); diags.HasErrors() {
		return &hcl.File{Body: hcl.EmptyBody(), Bytes: src}, diags
	}
	f, diags := p.p.ParseHCL(src, name)
	if f == nil {
		return nil, diags
	}
	if numDiags := checkNumberLiterals(f); numDiags.HasErrors() {
		return &hcl.File{Body: hcl.EmptyBody(), Bytes: src}, append(diags, numDiags...)
	}
	return f, diags
}

// ProjectFiles lists the HCL files of the project in dir, relative to it,
// in the order they are loaded: zrun.hcl, workflows/*.hcl and
// environments/*.hcl. A folder that exists but cannot be listed (no
// permission, a symbolic link loop, a file where a folder should be) is an
// error, not an empty folder.
func ProjectFiles(dir string) ([]string, hcl.Diagnostics) {
	var rels []string
	var diags hcl.Diagnostics
	if _, err := os.Stat(filepath.Join(dir, ProjectFile)); err == nil {
		rels = append(rels, ProjectFile)
	} else if !missing(filepath.Join(dir, ProjectFile), err) {
		diags = append(diags, listError(ProjectFile, err))
	}
	for _, sub := range []string{WorkflowsDir, EnvironmentsDir} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if !missing(filepath.Join(dir, sub), err) {
				diags = append(diags, listError(sub+"/", err))
			}
			continue
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".hcl") && !e.IsDir() {
				rels = append(rels, filepath.Join(sub, e.Name()))
			}
		}
	}
	return rels, diags
}

// missing reports whether err says that path does not exist at all; a
// symbolic link pointing nowhere exists, and is an error.
func missing(path string, err error) bool {
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, lerr := os.Lstat(path)
	return errors.Is(lerr, fs.ErrNotExist)
}

func listError(rel string, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Failed to read project",
		Detail: fmt.Sprintf("%s cannot be read: %s. zrun reads zrun.hcl, workflows/*.hcl and environments/*.hcl; "+
			"make %s readable, or remove it if the project does not use it.", rel, errText(err), rel),
	}
}

// errText is err without the path os puts first, which the caller names.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// build decodes parsed files into a Config.
func build(dir string, files []sourceFile) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		Dir:          dir,
		Project:      &Project{RequiredPlugins: map[string]*RequiredPlugin{}},
		Workflows:    map[string]*Workflow{},
		Environments: map[string]*Environment{},
		Secrets:      map[string]*Secret{},
		Defaults:     map[string]*Defaults{},
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
	applyDefaults(cfg)
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
