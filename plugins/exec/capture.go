package exec

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// tailSize is how much of the end of an over-long stream is kept for error
// messages.
const tailSize = 4 << 10

// capture keeps the first limit bytes written to it, and the last tailSize
// bytes once it has overflowed. Memory grows with the output, never past
// limit+tailSize.
type capture struct {
	limit int
	head  bytes.Buffer
	tail  []byte // ring of the last bytes beyond head, allocated on overflow
	total int64
}

func (c *capture) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	if room := c.limit - c.head.Len(); room > 0 {
		take := min(room, len(p))
		c.head.Write(p[:take])
		p = p[take:]
	}
	if len(p) == 0 {
		return n, nil
	}
	if len(p) >= tailSize {
		c.tail = append(c.tail[:0], p[len(p)-tailSize:]...)
		return n, nil
	}
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - tailSize; over > 0 {
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	return n, nil
}

// truncated reports whether output was dropped.
func (c *capture) truncated() bool { return c.total > int64(c.head.Len()) }

// String returns the captured head without one trailing newline.
func (c *capture) String() string {
	s := c.head.String()
	if !c.truncated() {
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
	}
	return s
}

// lastLines returns up to n lines from the end of the stream.
func (c *capture) lastLines(n int) string {
	end := c.head.Bytes()
	if c.truncated() {
		end = c.tail
	}
	s := strings.TrimRight(string(end), "\r\n")
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			n--
			if n == 0 {
				return s[i+1:]
			}
		}
	}
	return s
}

// stream tees a command's output to the operator and to a capture. Its
// ReadFrom copies through a pooled buffer, so a step does not allocate the
// 32 KiB io.Copy would for each of its streams.
type stream struct {
	ui io.Writer // may be nil
	capture
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

func (s *stream) Write(p []byte) (int, error) {
	if s.ui != nil {
		if n, err := s.ui.Write(p); err != nil {
			return n, err
		}
	}
	return s.capture.Write(p)
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
