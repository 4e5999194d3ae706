package ssh

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// tailSize is how much of the end of a stream is kept for the message of
// a failed command, whatever the capture limit.
const tailSize = 4 << 10

// capture keeps the first limit bytes of a command's output (its step
// output) and the last tailSize bytes (for error messages). Memory stays
// under limit+tailSize whatever the output's size.
type capture struct {
	limit int
	head  []byte
	ring  []byte // the last bytes written, up to tailSize, oldest at pos
	pos   int
	total int64
}

func newCapture(limit int) *capture { return &capture{limit: limit} }

func (c *capture) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	if room := c.limit - len(c.head); room > 0 {
		c.head = append(c.head, p[:min(room, len(p))]...)
	}
	c.keepTail(p)
	return len(p), nil
}

func (c *capture) keepTail(p []byte) {
	if len(p) >= tailSize {
		c.ring = append(c.ring[:0], p[len(p)-tailSize:]...)
		c.pos = 0
		return
	}
	for len(p) > 0 {
		if len(c.ring) < tailSize {
			n := min(tailSize-len(c.ring), len(p))
			c.ring = append(c.ring, p[:n]...)
			p = p[n:]
			continue
		}
		n := copy(c.ring[c.pos:], p)
		c.pos = (c.pos + n) % tailSize
		p = p[n:]
	}
}

// truncated reports whether the output was longer than the limit.
func (c *capture) truncated() bool { return c.total > int64(len(c.head)) }

// value is the step output: the captured head, without one trailing line
// end when nothing was cut.
func (c *capture) value() string {
	s := string(c.head)
	if !c.truncated() {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// tail returns up to n lines from the end of the output.
func (c *capture) tail(n int) string {
	end := append(append([]byte(nil), c.ring[c.pos:]...), c.ring[:c.pos]...)
	end = bytes.TrimRight(end, "\r\n")
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] == '\n' {
			if n--; n == 0 {
				end = end[i+1:]
				break
			}
		}
	}
	return strings.ToValidUTF8(string(end), "\uFFFD")
}

// prefixWriter starts every line written through it with a prefix (the
// host's name), so that the output of many hosts stays readable once
// interleaved. It writes each chunk to w in one Write.
type prefixWriter struct {
	w      io.Writer
	prefix []byte

	mu  sync.Mutex
	mid bool // the last byte written was not a newline
	buf []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = p.buf[:0]
	for rest := b; len(rest) > 0; {
		if !p.mid {
			p.buf = append(p.buf, p.prefix...)
		}
		line, after, found := bytes.Cut(rest, []byte{'\n'})
		p.buf = append(p.buf, line...)
		if found {
			p.buf = append(p.buf, '\n')
		}
		p.mid, rest = !found, after
	}
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}
