package targets

import (
	"bytes"
	"strconv"
	"testing"
)

// FuzzPidFilter: whatever a remote command writes to stderr, and however
// it is chunked, the filter passes everything but a leading pid line
// through unchanged, keeps only a plausible pid, and holds back at most
// one short line.
func FuzzPidFilter(f *testing.F) {
	f.Add([]byte("zrun-pid:4242\nboom\n"), uint8(3))
	f.Add([]byte("zrun-pid:1\n"), uint8(1))
	f.Add([]byte("zrun-pid:-7\nx"), uint8(0))
	f.Add([]byte("no pid line at all, just a long line of text that passes the 64 byte limit"), uint8(5))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var out bytes.Buffer
		pf := &pidFilter{w: &out}
		step := int(chunk%17) + 1
		for off := 0; off < len(in); off += step {
			end := min(off+step, len(in))
			if n, err := pf.Write(in[off:end]); err != nil || n != end-off {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		// The filter decides at the first write after which it holds a
		// newline or 64 bytes: a pid line then is taken off.
		decided, want := false, in
		for end := step; ; end += step {
			end = min(end, len(in))
			if nl := bytes.IndexByte(in[:end], '\n'); nl >= 0 || end >= 64 {
				decided = true
				if nl >= 0 && bytes.HasPrefix(in, []byte(pidPrefix)) {
					want = in[nl+1:]
					if n, err := strconv.Atoi(string(in[len(pidPrefix):nl])); err == nil && n > 1 && pf.pid() != n {
						t.Fatalf("pid %d, want %d", pf.pid(), n)
					}
				}
				break
			}
			if end == len(in) {
				break
			}
		}
		if p := pf.pid(); p == 1 || p < 0 {
			t.Fatalf("kept pid %d", p)
		}
		if !decided {
			want = nil // a short first line without its newline yet is held back
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("passed %q, want %q", out.Bytes(), want)
		}
	})
}
