package exec

import (
	"io"
	"sync"

	"github.com/zrun-dev/zrun/sdk/capture"
)

// stream tees a command's output to the operator and to a capture. Its
// ReadFrom copies through a pooled buffer, so a step does not allocate the
// 32 KiB io.Copy would for each of its streams.
type stream struct {
	ui io.Writer // may be nil
	*capture.Buffer
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

func (s *stream) Write(p []byte) (int, error) {
	if s.ui != nil {
		if n, err := s.ui.Write(p); err != nil {
			return n, err
		}
	}
	return s.Buffer.Write(p)
}

func (s *stream) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var total int64
	for {
		n, err := r.Read(*bp)
		if n > 0 {
			total += int64(n)
			if _, werr := s.Write((*bp)[:n]); werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
