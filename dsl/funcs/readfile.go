package funcs

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/zrun-dev/zrun/dsl/limits"
)

// MaxFileSize bounds what file and filebase64 read: a configuration that
// names /dev/zero or a huge file gets an error, not a hang or an exhausted
// memory. Templates get the smaller bound of HCL sources.
const MaxFileSize = 16 << 20

// readFile reads a regular file of at most limit bytes, relative paths
// resolved against baseDir.
func readFile(baseDir, path string, limit int64) ([]byte, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	return limits.ReadRegular(filepath.Clean(path), limit)
}

// makeFileFunc returns file(PATH), or filebase64(PATH) with encBase64: the
// content of the file at PATH (relative to baseDir), read once and bounded
// by limits.ReadRegular. (go-cty-funcs' own file reads with os.ReadFile,
// which a FIFO blocks and /dev/zero never ends.)
func makeFileFunc(baseDir string, encBase64 bool) function.Function {
	return function.New(&function.Spec{
		Description: "Reads the content of the file at the given path.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			src, err := readFile(baseDir, path, MaxFileSize)
			switch {
			case err != nil:
				return cty.UnknownVal(cty.String), err
			case encBase64:
				return cty.StringVal(base64.StdEncoding.EncodeToString(src)), nil
			case !utf8.Valid(src):
				return cty.UnknownVal(cty.String), fmt.Errorf("contents of %s are not valid UTF-8; use filebase64 to read them as Base64", path)
			}
			return cty.StringVal(string(src)), nil
		},
	})
}
