package ssh

import (
	"bytes"
	"io"
	"sync"
)

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
