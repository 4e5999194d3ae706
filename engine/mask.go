package engine

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
)

// minSecretLine is the length, in characters, under which a line of a
// multi-line secret is too short to be masked wherever it appears ("}",
// "==" or "-----" would mask half of any output). Such a line is masked
// where it stands alone instead: see masker.
const minSecretLine = 4

// masker hides the sensitive strings of a step's arguments wherever the
// step's plugin might repeat them: its output, its log lines, its error
// messages, and its outputs. The rules, which README's secrets section
// states for users:
//
//   - Every secret is a pattern, masked wherever it appears, whatever its
//     length. One with line breaks is, without the white space around it,
//     a pattern with "\n" and one with "\r\n" between its lines.
//   - Every line of a secret, with the white space around it trimmed, is
//     a pattern of its own when it has at least minSecretLine characters,
//     so a multi-line secret is masked line by line too (printed
//     indented, with other line endings, or one line at a time).
//   - A shorter line of a multi-line secret masks an output line that
//     holds only it (and white space): it cannot be told apart from
//     ordinary text inside a longer line, but a line of its own is where a
//     printed secret puts it.
//
// Patterns are matched leftmost first, the longest at a position winning,
// in bytes, so the result is the same however the text is chunked (see
// maskStream). A masker is immutable and safe for concurrent use; the nil
// masker masks nothing.
type masker struct {
	patterns [][]byte // longest first
	first    [256]bool
	short    map[string]bool
}

// newMasker masks the given secrets.
func newMasker(secrets []string) *masker {
	m := &masker{short: map[string]bool{}}
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			m.patterns = append(m.patterns, []byte(p))
			m.first[p[0]] = true
		}
	}
	for _, s := range secrets {
		if !strings.ContainsAny(s, "\r\n") {
			add(s)
			if t := strings.TrimSpace(s); utf8.RuneCountInString(t) >= minSecretLine {
				add(t)
			}
			continue
		}
		// Without the line breaks around it, so masking it leaves the
		// output's line structure alone.
		lf := strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
		add(lf)
		add(strings.ReplaceAll(lf, "\n", "\r\n"))
		for _, line := range strings.FieldsFunc(lf, func(r rune) bool { return r == '\n' || r == '\r' }) {
			switch t := strings.TrimSpace(line); {
			case utf8.RuneCountInString(t) >= minSecretLine:
				add(t)
			case t != "":
				m.short[t] = true
			}
		}
	}
	// Longest first, so a secret containing another is masked whole.
	slices.SortStableFunc(m.patterns, func(a, b []byte) int { return len(b) - len(a) })
	return m
}

// Mask masks every secret in s, a whole text (an error, a log message),
// and makes it valid UTF-8.
func (m *masker) Mask(s string) string {
	if m.empty() {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	var out bytes.Buffer
	ms := m.stream(func(b []byte) { out.Write(b) })
	ms.Write([]byte(s))
	ms.Flush()
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		lines[i] = m.maskLine(l)
	}
	return strings.Join(lines, "\n")
}

// maskLine applies the rule for short lines of multi-line secrets to one
// line of text whose patterns are masked already, and makes it valid
// UTF-8.
func (m *masker) maskLine(l string) string {
	if m != nil && m.short[strings.TrimSpace(l)] {
		return Redacted
	}
	return strings.ToValidUTF8(l, "\uFFFD")
}

func (m *masker) empty() bool { return m == nil || (len(m.patterns) == 0 && len(m.short) == 0) }

// longest is the length of the longest pattern: a stream holds back at
// most one byte less.
func (m *masker) longest() int {
	if m == nil || len(m.patterns) == 0 {
		return 0
	}
	return len(m.patterns[0])
}

// stream returns a maskStream that passes what is written, masked, to
// out.
func (m *masker) stream(out func([]byte)) *maskStream {
	return &maskStream{m: m, out: out}
}

// maskStream masks a byte stream written in chunks of any size. It emits
// at once every byte no secret can start at, and holds back only a tail
// that is a proper prefix of some pattern (at most the longest pattern
// less one byte), until the next write or Flush tells whether the secret
// completes. So its output does not depend on how the input is chunked:
// it is what masking the whole input at once gives. Not safe for
// concurrent use.
type maskStream struct {
	m       *masker
	out     func([]byte)
	pending []byte
}

// Write masks p, after what was held back.
func (s *maskStream) Write(p []byte) {
	if s.m == nil || len(s.m.patterns) == 0 {
		s.out(p)
		return
	}
	s.pending = append(s.pending, p...)
	s.scan(false)
}

// Flush emits what was held back: the input has ended, so a pattern not
// complete yet never will be.
func (s *maskStream) Flush() {
	s.scan(true)
	s.pending = nil
}

func (s *maskStream) scan(final bool) {
	buf, start, i := s.pending, 0, 0
	for i < len(buf) {
		if !s.m.first[buf[i]] {
			i++
			continue
		}
		n, wait := s.m.matchAt(buf[i:], final)
		if wait {
			break
		}
		if n == 0 {
			i++
			continue
		}
		if i > start {
			s.out(buf[start:i])
		}
		s.out(redactedBytes)
		i += n
		start = i
	}
	if i > start {
		s.out(buf[start:i])
	}
	// Keep the held-back tail at the start of the buffer so it does not
	// creep forward.
	s.pending = append(s.pending[:0], buf[i:]...)
}

var redactedBytes = []byte(Redacted)

// matchAt returns the length of the longest pattern b starts with, or
// wait when b (not final) is too short to tell: it is a proper prefix of
// a pattern.
func (m *masker) matchAt(b []byte, final bool) (n int, wait bool) {
	for _, p := range m.patterns {
		if len(b) >= len(p) {
			if n == 0 && bytes.HasPrefix(b, p) {
				n = len(p) // the longest, as patterns are longest first
			}
			continue
		}
		if !final && bytes.HasPrefix(p, b) {
			return 0, true
		}
	}
	return n, false
}

// MarkOutputs marks sensitive every string in v that contains a secret,
// so an output that echoes a secret stays masked downstream.
func (m *masker) MarkOutputs(v cty.Value) cty.Value {
	if m.empty() || v == cty.NilVal {
		return v
	}
	out, _ := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if v.IsMarked() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			return v, nil
		}
		if m.Mask(v.AsString()) != v.AsString() {
			return v.Mark(sensitiveMark), nil
		}
		return v, nil
	})
	return out
}

// sensitiveStrings returns every string in v under a sensitive mark.
func sensitiveStrings(v cty.Value) []string {
	var out []string
	if v == cty.NilVal {
		return nil
	}
	uv, pvms := v.UnmarkDeepWithPaths()
	for _, pvm := range pvms {
		if _, ok := pvm.Marks[sensitiveMark]; !ok {
			continue
		}
		if sv, err := pvm.Path.Apply(uv); err == nil {
			collectStrings(sv, &out)
		}
	}
	return out
}

// secretSet is every sensitive string a run has met so far: sensitive
// params, environment values and step outputs. A step's output is masked
// for all of them, not just for the arguments it was given, since a plugin
// may print a secret that reached it inside a larger string.
type secretSet struct {
	mu  sync.Mutex
	set map[string]bool
}

func (s *secretSet) add(v cty.Value) {
	strs := sensitiveStrings(v)
	if len(strs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = map[string]bool{}
	}
	for _, str := range strs {
		s.set[str] = true
	}
}

// masker masks the run's secrets and any sensitive string in args.
func (s *secretSet) masker(args cty.Value) *masker {
	secrets := sensitiveStrings(args)
	s.mu.Lock()
	for str := range s.set {
		secrets = append(secrets, str)
	}
	s.mu.Unlock()
	return newMasker(secrets)
}

func collectStrings(v cty.Value, out *[]string) {
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String && v.AsString() != "" {
			*out = append(*out, v.AsString())
		}
		return true, nil
	})
}
