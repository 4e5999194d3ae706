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

	"github.com/zrun-dev/zrun/dsl/limits"
	"github.com/zrun-dev/zrun/sdk/schema"
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
// diagnostics: the project has not been locked, so no external plugin
// may start (see Options.Lock). Only a regular file of at most 1 MiB is
// read: a FIFO, a device or a huge file in its place is an error.
func ReadLock(path string) (*LockFile, hcl.Diagnostics) {
	src, err := limits.ReadRegular(path, maxLockSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read the lock file",
			Detail:   fmt.Sprintf("%s. Remove it and run \"zrun plugins lock\" to write it again.", err),
			Subject:  &hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	return ParseLock(path, src)
}

// ParseLock parses the content of a lock file; name is used in
// diagnostics. Nesting is bounded before parsing (see checkLockNesting).
func ParseLock(name string, src []byte) (*LockFile, hcl.Diagnostics) {
	if diags := checkLockNesting(name, src); diags.HasErrors() {
		return nil, diags
	}
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

// maxLockNesting bounds brackets, braces, parentheses and template
// interpolations inside one another in a lock file, and maxLockOperators
// the operators in it. A lock file needs two levels and no operator; the
// bounds keep HCL's recursive parser far from a stack overflow on a
// hostile file, whose size is bounded too.
// Bounds of what this package reads: the lock file, one plugin's answer
// cache. Both are far smaller in practice.
const (
	maxLockSize   = 1 << 20
	maxAnswerSize = 64 << 20
)

const (
	maxLockNesting   = 32
	maxLockOperators = 256
)

// checkLockNesting lexes src (HCL's lexer does not recurse) and reports
// the first token past maxLockNesting or maxLockOperators.
func checkLockNesting(name string, src []byte) hcl.Diagnostics {
	tokens, _ := hclsyntax.LexConfig(src, name, hcl.InitialPos) // the parser reports lexing errors
	depth, ops := 0, 0
	for _, tok := range tokens {
		problem := ""
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			if depth++; depth > maxLockNesting {
				problem = fmt.Sprintf("more than %d levels of brackets, braces, parentheses or templates inside one another", maxLockNesting)
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			depth = max(depth-1, 0)
		case hclsyntax.TokenPlus, hclsyntax.TokenMinus, hclsyntax.TokenStar, hclsyntax.TokenSlash, hclsyntax.TokenPercent,
			hclsyntax.TokenBang, hclsyntax.TokenAnd, hclsyntax.TokenOr, hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual,
			hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq, hclsyntax.TokenGreaterThan, hclsyntax.TokenGreaterThanEq,
			hclsyntax.TokenQuestion, hclsyntax.TokenEllipsis, hclsyntax.TokenDot:
			if ops++; ops > maxLockOperators {
				problem = fmt.Sprintf("more than %d operators", maxLockOperators)
			}
		}
		if problem != "" {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Lock file too deeply nested",
				Detail:   fmt.Sprintf("The lock file has %s; it holds only plugin blocks of two string attributes. Remove it and run \"zrun plugins lock\" to write it again.", problem),
				Subject:  tok.Range.Ptr(),
			}}
		}
	}
	return nil
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
// "" for any version) and every other external plugin found, checks its
// name and version and records it with its checksum: every plugin a
// workflow may use is then locked, so the advice to run `zrun plugins
// lock` that a refused plugin gives always works.
//
// Renewing the lock is the point, so nothing may refuse it: each plugin
// starts whatever m's lock file says (Options.Lock is not consulted) and
// is asked for its schema itself, never the answer cache, so a rebuilt
// plugin reports its new version. Give it a Manager of its own: a process
// m already runs would answer for the build it started from.
func Lock(ctx context.Context, m *Manager, required map[string]string) (*LockFile, error) {
	all := maps.Clone(required)
	if all == nil {
		all = map[string]string{}
	}
	for _, f := range m.externals() {
		if _, ok := all[f.Name]; !ok {
			all[f.Name] = ""
		}
	}
	lf := &LockFile{Plugins: map[string]*LockedPlugin{}}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(all)) {
		p, err := lockOne(ctx, m, name, all[name])
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
	cons, err := parseConstraint(name, constraint)
	if err != nil {
		return nil, err
	}
	pc, err := m.client(ctx, name, false)
	if err != nil {
		return nil, err
	}
	before, err := fileSHA256(pc.path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	p, err := pc.process(ctx, false)
	if err != nil {
		return nil, err
	}
	s, err := p.rpc.GetSchema(ctx)
	if err != nil {
		return nil, pc.wrap(ctx, p, "getting the schema", err)
	}
	if err := checkReported(pc, s, cons, constraint); err != nil {
		return nil, err
	}
	after, err := fileSHA256(pc.path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	if after != before {
		return nil, fmt.Errorf("plugin %q at %s changed while it was being locked; run \"zrun plugins lock\" again", name, pc.path)
	}
	return &LockedPlugin{Name: name, Version: s.Version, SHA256: after}, nil
}

// parseConstraint parses the version constraint zrun.hcl gives plugin
// name; "" is no constraint.
func parseConstraint(name, constraint string) (version.Constraints, error) {
	if constraint == "" {
		return nil, nil
	}
	cons, err := version.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: invalid version constraint %q in required_plugins: %w", name, constraint, err)
	}
	return cons, nil
}

// checkReported checks what a plugin says of itself in its schema: its
// name, and a version that meets the project's constraint.
func checkReported(pc *pluginClient, s *schema.Plugin, cons version.Constraints, constraint string) error {
	if s.Name != pc.name {
		return fmt.Errorf("plugin executable %s calls itself %q, not %q; rename it %s%s", pc.path, s.Name, pc.name, ExecutablePrefix, s.Name)
	}
	v, err := version.NewVersion(s.Version)
	if err != nil {
		return fmt.Errorf("plugin %q reports version %q, which is not a version number: %w", pc.name, s.Version, err)
	}
	if cons != nil && !cons.Check(v) {
		return fmt.Errorf("plugin %q at %s is version %s, but the project requires %s; install a matching version and run \"zrun plugins lock\"", pc.name, pc.path, v, constraint)
	}
	return nil
}

// pinned checks an external plugin against the lock file and the
// project's requirements, without reading the executable: it must be
// locked, and at a version that meets its constraint. The answer cache
// trusts a pinned plugin's identity; verify also checks the checksum.
func (m *Manager) pinned(pc *pluginClient) (*LockedPlugin, error) {
	if pc.builtin || m.opts.Unlocked {
		return nil, nil
	}
	how := "run \"zrun plugins lock\" to record it"
	if m.opts.Lock == nil {
		how = "there is no " + LockFileName + " yet: " + how
	}
	var locked *LockedPlugin
	if m.opts.Lock != nil {
		locked = m.opts.Lock.Plugins[pc.name]
	}
	if locked == nil {
		return nil, fmt.Errorf("plugin %q at %s is not in %s; %s", pc.name, pc.path, LockFileName, how)
	}
	constraint := m.opts.Required[pc.name]
	cons, err := parseConstraint(pc.name, constraint)
	if err != nil {
		return nil, err
	}
	v, err := version.NewVersion(locked.Version)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %s records version %q, which is not a version number; run \"zrun plugins lock\"", pc.name, LockFileName, locked.Version)
	}
	if cons != nil && !cons.Check(v) {
		return nil, fmt.Errorf("plugin %q is locked at version %s in %s, but the project requires %s; install a matching version and run \"zrun plugins lock\"", pc.name, v, LockFileName, constraint)
	}
	return locked, nil
}

// verify checks an external plugin's executable before it starts:
// pinned, and with the checksum the lock file records. The file could
// still change between this check and its start; the lock guards against
// accidents, not against someone who can write the plugin directory.
func (m *Manager) verify(pc *pluginClient) error {
	locked, err := m.pinned(pc)
	if err != nil || locked == nil {
		return err
	}
	sum, err := fileSHA256(pc.path)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", pc.name, err)
	}
	if sum != locked.SHA256 {
		return fmt.Errorf("plugin %q at %s has checksum %s but %s records %s; if you upgraded it on purpose run \"zrun plugins lock\"",
			pc.name, pc.path, sum, LockFileName, locked.SHA256)
	}
	return nil
}

// checkSchema checks the schema an external plugin reports, fresh or
// from the answer cache, at every start of zrun: its name, its version
// against the project's constraint and the version its lock entry
// records.
func (m *Manager) checkSchema(pc *pluginClient, s *schema.Plugin) error {
	locked, err := m.pinned(pc)
	if err != nil || pc.builtin {
		return err
	}
	constraint := m.opts.Required[pc.name]
	cons, err := parseConstraint(pc.name, constraint)
	if err != nil {
		return err
	}
	if err := checkReported(pc, s, cons, constraint); err != nil {
		return err
	}
	if locked != nil && s.Version != locked.Version {
		return fmt.Errorf("plugin %q at %s reports version %s but %s records %s; run \"zrun plugins lock\"", pc.name, pc.path, s.Version, LockFileName, locked.Version)
	}
	return nil
}

// fileSHA256 hashes a plugin executable, which must be a regular file.
func fileSHA256(path string) (string, error) {
	f, _, err := limits.OpenRegular(path)
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
