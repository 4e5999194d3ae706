//go:build unix

package rpc

import (
	"io/fs"
	"syscall"
)

// fileID is the device and inode of a file, which tell whether a path
// still names the file a process holds open.
func fileID(fi fs.FileInfo) (dev, ino uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), true //nolint:unconvert // Dev's type differs between systems
}
