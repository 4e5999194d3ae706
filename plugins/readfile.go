package plugins

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Bounds of what this package reads: the lock file, one plugin's answer
// cache. Both are far smaller in practice.
const (
	maxLockSize   = 1 << 20
	maxAnswerSize = 64 << 20
)

// errNotRegular is wrapped by openRegular's error for a device, a FIFO, a
// socket or a folder.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading when it is a regular file, whatever
// a symlink points at. It opens without blocking, so a FIFO in its place
// is an error rather than a wait for a writer that never comes, and it
// checks the file it opened, not a name that could change in between.
// plugins may not import dsl/funcs (ReadRegular), hence this own copy.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, fmt.Errorf("%s is %w (%s)", path, errNotRegular, info.Mode().Type())
	}
	return f, info, nil
}

// readRegular reads a regular file of at most limit bytes: a device, a
// FIFO or a huge file is an error naming the path, not a hang or an
// exhausted memory.
func readRegular(path string, limit int64) ([]byte, error) {
	f, info, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooLarge := fmt.Errorf("%s is larger than %d KiB", path, limit>>10)
	if info.Size() > limit {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit { // it grew since Stat
		return nil, tooLarge
	}
	return data, nil
}
