package limits

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ReadRegular reads a regular file of at most limit bytes: a
// device, a FIFO, a folder or a huge file gets an error, not a hang or an
// exhausted memory. The file is opened without blocking (a FIFO with no
// writer would block the open itself) and its type checked on the opened
// file, so a path swapped between a check and the open cannot slip by.
// Its errors name the path, never the content. It is the one bounded read
// of everything zrun reads from a project: HCL files, templates, file and
// dotenv secrets.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, info, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
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

// OpenRegular opens path for reading when it is a regular file, whatever a
// symlink points at, with ReadRegular's care: without blocking, its type
// checked on the opened file. For a file read as a stream (a plugin
// executable to hash); the caller closes it.
func OpenRegular(path string) (*os.File, os.FileInfo, error) {
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
		return nil, nil, fmt.Errorf("%s is not a regular file (it is %s)", path, fileKind(info.Mode()))
	}
	return f, info, nil
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
