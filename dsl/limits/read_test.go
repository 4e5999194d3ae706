package limits

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		path, want string
		limit      int64
	}{
		"fifo":             {fifo, "is not a regular file (it is a named pipe)", 1 << 20},
		"link to a device": {zero, "is not a regular file (it is a character device)", 1 << 20},
		"folder":           {dir, "is not a regular file (it is a folder)", 1 << 20},
		"too large":        {small, "is larger than 4 bytes", 4},
		"missing":          {filepath.Join(dir, "nope"), "no such file", 1 << 20},
		"fits":             {small, "", 5},
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				data, err := ReadRegular(tc.path, tc.limit)
				if err == nil && string(data) != "hello" {
					t.Errorf("read %q", data)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
					t.Errorf("error %v, want %q", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReadRegular blocked")
			}
		})
	}
}
