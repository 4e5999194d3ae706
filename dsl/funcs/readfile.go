package funcs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

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

// ReadRegular reads a regular file of at most limit bytes: a
// device, a FIFO, a folder or a huge file gets an error, not a hang or an
// exhausted memory. The file is opened without blocking (a FIFO with no
// writer would block the open itself) and its type checked on the opened
// file, so a path swapped between a check and the open cannot slip by.
// Its errors name the path, never the content. It is the one bounded read
// of everything zrun reads from a project: HCL files, templates, file and
// dotenv secrets.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (it is %s)", path, fileKind(info.Mode()))
	}
	tooLarge := fmt.Errorf("%s is larger than %s", path, sizeString(limit))
	if info.Size() > limit {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit { // it grew since the open
		return nil, tooLarge
	}
	return data, nil
}

// fileKind names the type of a file that is not regular, for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

// sizeString renders a limit in MiB, KiB or bytes.
func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
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
