package funcs

import (
	"path/filepath"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zrun-dev/zrun/dsl/limits"
)

// MaxFileSize bounds what file, filebase64 and templatefile read: a
// configuration that names /dev/zero or a huge file gets an error, not a
// hang or an exhausted memory.
const MaxFileSize = 16 << 20

// readFile reads a regular file of at most MaxFileSize bytes, relative
// paths resolved against baseDir.
func readFile(baseDir, path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	return limits.ReadRegular(filepath.Clean(path), MaxFileSize)
}

// guardFileFunc checks the path argument of fn (its first) with the same
// rules as readFile before fn reads it.
func guardFileFunc(baseDir string, fn function.Function) function.Function {
	return function.New(&function.Spec{
		Description: fn.Description(),
		Params:      fn.Params(),
		Type:        func(args []cty.Value) (cty.Type, error) { return fn.ReturnTypeForValues(args) },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if _, err := readFile(baseDir, args[0].AsString()); err != nil {
				return cty.DynamicVal, err
			}
			return fn.Call(args)
		},
	})
}
