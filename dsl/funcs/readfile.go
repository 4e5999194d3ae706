package funcs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
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
	return ReadRegular(filepath.Clean(path), MaxFileSize)
}

// ReadRegular reads a regular file of at most limit bytes (whole MiB): a
// device, a FIFO or a huge file gets an error, not a hang or an exhausted
// memory. Its errors name the path, never the content.
func ReadRegular(path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	tooLarge := fmt.Errorf("%s is larger than %d MiB", path, limit>>20)
	if info.Size() > limit {
		return nil, tooLarge
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit { // it grew since Stat
		return nil, tooLarge
	}
	return data, nil
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
