package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file's name in a project's folder.
const LockFileName = "zrun.lock.hcl"

const lockHeader = "# This file is maintained by \"zrun plugins lock\". Commit it.\n"

// LockFile pins the external plugins a project uses: each one's version
// and the sha256 of its executable. Builtins are never in it: they are
// zrun itself.
type LockFile struct {
	Plugins map[string]*LockedPlugin
}

// LockedPlugin is one plugin block of the lock file.
type LockedPlugin struct {
	Name    string    `hcl:"name,label"`
	Version string    `hcl:"version"`
	SHA256  string    `hcl:"sha256"`
	Range   hcl.Range `hcl:",def_range"`
}

// ReadLock reads a lock file. A missing file gives a nil *LockFile and no
// diagnostics: the project has not been locked.
func ReadLock(path string) (*LockFile, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read the lock file", Detail: err.Error()}}
	}
	return ParseLock(path, src)
}

// ParseLock parses the content of a lock file; name is used in diagnostics.
func ParseLock(name string, src []byte) (*LockFile, hcl.Diagnostics) {
	file, diags := hclparse.NewParser().ParseHCL(src, name)
	if diags.HasErrors() {
		return nil, diags
	}
	var content struct {
		Plugins []*LockedPlugin `hcl:"plugin,block"`
	}
	diags = append(diags, gohcl.DecodeBody(file.Body, nil, &content)...)
	lf := &LockFile{Plugins: map[string]*LockedPlugin{}}
	for _, p := range content.Plugins {
		if prev, ok := lf.Plugins[p.Name]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate plugin lock",
				Detail:   fmt.Sprintf("Plugin %q is already locked at %s. Run \"zrun plugins lock\" to rewrite the file.", p.Name, prev.Range),
				Subject:  p.Range.Ptr(),
			})
			continue
		}
		lf.Plugins[p.Name] = p
	}
	return lf, diags
}

// Write writes the lock file, replacing any old one atomically.
func (lf *LockFile) Write(path string) error {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(lockHeader)}})
	for _, n := range slices.Sorted(maps.Keys(lf.Plugins)) {
		p := lf.Plugins[n]
		body.AppendNewline()
		b := body.AppendNewBlock("plugin", []string{n}).Body()
		b.SetAttributeValue("version", cty.StringVal(p.Version))
		b.SetAttributeValue("sha256", cty.StringVal(p.SHA256))
	}
	return writeFileAtomic(path, f.Bytes())
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Lock starts each required external plugin (name → version constraint,
// "" for any version), checks its version and records it with its
// checksum. With no requirements it locks every external plugin found.
// The plugins start without checking an existing lock, since renewing it
// is the point; use a Manager of its own.
func Lock(ctx context.Context, m *Manager, required map[string]string) (*LockFile, error) {
	if len(required) == 0 {
		required = map[string]string{}
		for _, f := range m.externals() {
			required[f.Name] = ""
		}
	}
	lf := &LockFile{Plugins: map[string]*LockedPlugin{}}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(required)) {
		p, err := lockOne(ctx, m, name, required[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lf.Plugins[name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return lf, nil
}

func lockOne(ctx context.Context, m *Manager, name, constraint string) (*LockedPlugin, error) {
	if _, ok := m.opts.Builtins[name]; ok {
		return nil, fmt.Errorf("plugin %q is built into zrun and is not locked; remove it from the required plugins", name)
	}
	var cons version.Constraints
	if constraint != "" {
		var err error
		if cons, err = version.NewConstraint(constraint); err != nil {
			return nil, fmt.Errorf("plugin %q: invalid version constraint %q: %w", name, constraint, err)
		}
	}
	pc, err := m.client(ctx, name, false)
	if err != nil {
		return nil, err
	}
	s, err := pc.GetSchema(ctx)
	if err != nil {
		return nil, err
	}
	if s.Name != name {
		return nil, fmt.Errorf("plugin executable %s calls itself %q, not %q; rename it %s%s", pc.path, s.Name, name, ExecutablePrefix, s.Name)
	}
	v, err := version.NewVersion(s.Version)
	if err != nil {
		return nil, fmt.Errorf("plugin %q reports version %q, which is not a version number: %w", name, s.Version, err)
	}
	if cons != nil && !cons.Check(v) {
		return nil, fmt.Errorf("plugin %q at %s is version %s, but the project requires %s; install a matching version", name, pc.path, v, constraint)
	}
	sum, err := fileSHA256(pc.path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	return &LockedPlugin{Name: name, Version: s.Version, SHA256: sum}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
