package capture

import (
	"bytes"
	"strings"
)

// TailSize is how much of the end of the output is kept for LastLines,
// whatever the limit.
const TailSize = 4 << 10

// Buffer keeps the first limit bytes written to it and the last TailSize
// bytes. Memory stays under limit+TailSize whatever is written. It is not
// safe for concurrent use.
type Buffer struct {
	limit int
	head  []byte
	ring  []byte // the last bytes written, up to TailSize, oldest at pos
	pos   int
	total int64
}

// New returns a Buffer that keeps the first limit bytes.
func New(limit int) *Buffer { return &Buffer{limit: limit} }

// Write keeps what it must of p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.total += int64(len(p))
	if room := b.limit - len(b.head); room > 0 {
		b.head = append(b.head, p[:min(room, len(p))]...)
	}
	b.keepTail(p)
	return len(p), nil
}

func (b *Buffer) keepTail(p []byte) {
	if len(p) >= TailSize {
		b.ring = append(b.ring[:0], p[len(p)-TailSize:]...)
		b.pos = 0
		return
	}
	for len(p) > 0 {
		if len(b.ring) < TailSize {
			n := min(TailSize-len(b.ring), len(p))
			b.ring = append(b.ring, p[:n]...)
			p = p[n:]
			continue
		}
		n := copy(b.ring[b.pos:], p)
		b.pos = (b.pos + n) % TailSize
		p = p[n:]
	}
}

// Total is how many bytes were written.
func (b *Buffer) Total() int64 { return b.total }

// Kept is how many bytes of the head were kept (at most the limit).
func (b *Buffer) Kept() int { return len(b.head) }

// Truncated reports whether more was written than the limit kept.
func (b *Buffer) Truncated() bool { return b.total > int64(len(b.head)) }

// String is the kept head, as a step output: without one trailing line
// end when nothing was cut, invalid UTF-8 replaced by U+FFFD.
func (b *Buffer) String() string {
	s := string(b.head)
	if !b.Truncated() {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// LastLines returns up to n lines from the end of the output, for an
// error message.
func (b *Buffer) LastLines(n int) string {
	end := append(append([]byte(nil), b.ring[b.pos:]...), b.ring[:b.pos]...)
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
