package compose

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v4"
)

// composeDiags turns an error of compose-go into a diagnostic pointing at
// the compose file, line and column it is about, when they can be found:
// a YAML syntax error carries its own; for a schema or consistency error
// the path it names (services.gateway.ports, service "db") is looked up
// in the files, the last one that has it first, as compose merges them.
func composeDiags(err error, po *cli.ProjectOptions) hcl.Diagnostics {
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid compose file",
		Detail:   strings.TrimRight(err.Error(), ".") + ". (As docker compose reads it, with compose-go: fix the file and import again.)",
	}
	var files []string
	if po != nil {
		files = po.ConfigPaths
	}
	if r, ok := syntaxError(files); ok {
		d.Summary, d.Subject = "Invalid YAML in a compose file", r
		return hcl.Diagnostics{d}
	}
	var pe *yaml.ParserError
	if errors.As(err, &pe) {
		return hcl.Diagnostics{d}
	}
	file, path := errorPath(err.Error())
	if file != "" {
		files = []string{file}
	}
	if len(path) > 0 {
		for i := len(files) - 1; i >= 0; i-- {
			if r, ok := locate(files[i], path, false); ok {
				d.Subject = r
				break
			}
		}
	}
	return hcl.Diagnostics{d}
}

// syntaxError returns where the first compose file that is not valid
// YAML goes wrong.
func syntaxError(files []string) (*hcl.Range, bool) {
	for _, f := range files {
		src := readFile(f)
		if src == nil {
			continue
		}
		var n yaml.Node
		err := yaml.Unmarshal(src, &n)
		var pe *yaml.ParserError
		if errors.As(err, &pe) {
			col := max(pe.Column, 1)
			pos := hcl.Pos{Line: pe.Line, Column: col, Byte: byteOffset(src, pe.Line, col)}
			return &hcl.Range{Filename: f, Start: pos, End: pos}, true
		}
	}
	return nil, false
}

var (
	validatingRe = regexp.MustCompile(`validating (\S+): (\S+)(?: additional properties '([^']+)')?`)
	serviceRe    = regexp.MustCompile(`service "?([A-Za-z0-9._-]+)"?`)
)

// errorPath reads the file and the YAML path a compose-go error names:
// "validating FILE: services.web.ports.0 must be ..." or `service "db"
// refers to ...`. The text is compose-go's; when it names nothing that is
// found, the diagnostic simply has no place.
func errorPath(msg string) (file string, path []string) {
	if m := validatingRe.FindStringSubmatch(msg); m != nil {
		path = strings.Split(m[2], ".")
		if m[3] != "" {
			path = append(path, m[3])
		}
		return m[1], path
	}
	if m := serviceRe.FindStringSubmatch(msg); m != nil {
		return "", []string{"services", m[1]}
	}
	return "", nil
}

// locate returns the range of the node at path in a YAML file (its key,
// in a mapping). Unless exact, a path the file has only in part gives the
// deepest node of it that is there.
func locate(file string, path []string, exact bool) (*hcl.Range, bool) {
	src := readFile(file)
	var doc yaml.Node
	if src == nil || yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return nil, false
	}
	n, at := doc.Content[0], (*yaml.Node)(nil)
	for _, seg := range path {
		next, key := child(n, seg)
		if next == nil {
			if exact {
				return nil, false
			}
			break
		}
		n, at = next, key
		if at == nil {
			at = next
		}
	}
	if at == nil {
		return nil, false
	}
	start := hcl.Pos{Line: at.Line, Column: at.Column, Byte: byteOffset(src, at.Line, at.Column)}
	end := start
	if at.Kind == yaml.ScalarNode {
		end.Column += len(at.Value)
		end.Byte += len(at.Value)
	}
	return &hcl.Range{Filename: file, Start: start, End: end}, true
}

// child returns the value under key (a mapping) or index (a sequence) of
// n, and the key's own node for a mapping.
func child(n *yaml.Node, seg string) (value, key *yaml.Node) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1], n.Content[i]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], nil
		}
	}
	return nil, nil
}

// byteOffset returns the offset of line:col (1-based) in src.
func byteOffset(src []byte, line, col int) int {
	off := 0
	for l := 1; l < line && off < len(src); l++ {
		i := strings.IndexByte(string(src[off:]), '\n')
		if i < 0 {
			return len(src)
		}
		off += i + 1
	}
	return min(off+col-1, len(src))
}

// position returns where path is written in the last of files that has
// it (or, failing that, the longest part of it that one has, down to its
// first two elements), for a warning's place; nil when none does.
func position(files []string, path ...string) *hcl.Range {
	for n := len(path); n >= min(2, len(path)); n-- {
		for i := len(files) - 1; i >= 0; i-- {
			if r, ok := locate(files[i], path[:n], true); ok {
				return r
			}
		}
	}
	return nil
}
