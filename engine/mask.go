package engine

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/dsl/lang"
)

// minSecretLine is the length, in characters, under which a line of a
// multi-line secret is too short to be masked wherever it appears ("}",
// "==" or "-----" would mask half of any output). Such a line is masked
// where it is most likely the secret's instead: see masker.
const minSecretLine = 4

// masker hides the sensitive strings of a step's arguments wherever the
// step's plugin might repeat them: its output, its log lines, its error
// messages, and its outputs. The rules, which README's secrets section
// states for users:
//
//   - Every secret is a pattern, masked wherever it appears, whatever its
//     length; a single-line one also without the white space around it.
//     One with line breaks is, without the white space around it,
//     a pattern with "\n" and one with "\r\n" between its lines.
//   - Every line of a secret, with the white space around it trimmed, is
//     a pattern of its own when it has at least minSecretLine characters,
//     so a multi-line secret is masked line by line too (printed
//     indented, with other line endings, or one line at a time).
//   - A shorter line of a multi-line secret cannot be told apart from
//     ordinary text inside other text, so it is masked where a printed
//     secret puts it: an output line that holds only it (and white space)
//     is masked whole, and it is masked as a word (between white space)
//     on an output line that has something else masked, or next to one
//     that has (see lineRule).
//
// Patterns are matched leftmost first, the longest at a position winning,
// in bytes, so the result is the same however the text is chunked (see
// maskStream). A masker is immutable and safe for concurrent use; the nil
// masker masks nothing.
type masker struct {
	patterns [][]byte // longest first
	// byFirst holds the patterns by their first byte, longest first: a
	// position is tried against those that can match there only.
	byFirst [256][][]byte
	short   map[string]bool
}

// newMasker masks the given secrets.
func newMasker(secrets []string) *masker {
	m := &masker{short: map[string]bool{}}
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			m.patterns = append(m.patterns, []byte(p))
		}
	}
	for _, s := range secrets {
		if !strings.ContainsAny(s, "\r\n") {
			add(s)
			// Trimmed too, whatever its length, as a short single-line
			// secret is masked whole wherever it appears.
			add(strings.TrimSpace(s))
			continue
		}
		if strings.TrimSpace(s) == "" {
			// Nothing but white space and line breaks: masked as it is
			// (found by FuzzMaskStream: secret "\r", line "\r0"), which
			// no real secret is, but none may show either.
			add(s)
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
	for _, p := range m.patterns {
		m.byFirst[p[0]] = append(m.byFirst[p[0]], p)
	}
	return m
}

// Mask masks every secret in s, a whole text (an error, a log message),
// and makes it valid text.
func (m *masker) Mask(s string) string {
	if m.empty() {
		return validText(s)
	}
	var masked bytes.Buffer
	ms := m.stream(func(b []byte, _ bool) { masked.Write(b) })
	ms.Write([]byte(s))
	ms.Flush()
	lines := make([]string, 0, strings.Count(masked.String(), "\n")+1)
	r := m.lines(func(l string) { lines = append(lines, l) })
	for l := range strings.SplitSeq(masked.String(), "\n") {
		r.line(l)
	}
	r.flush()
	return strings.Join(lines, "\n")
}

// validText makes a line of output valid text for every sink and store:
// invalid UTF-8 and NUL bytes (which PostgreSQL's text refuses) become
// U+FFFD.
func validText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// lines returns a lineRule that passes lines, their patterns masked
// already, to out.
func (m *masker) lines(out func(string)) *lineRule {
	return &lineRule{m: m, out: out}
}

// lineRule applies the rule for short lines of multi-line secrets to a
// sequence of lines whose patterns are masked already, and makes each
// valid text. A line's neighbours count, so a line that holds a short
// line of a secret as a word, and is not masked on its own account, waits
// for the next line (or flush) before it is passed on: at most one line
// is held.
type lineRule struct {
	m          *masker
	out        func(string)
	prevMasked bool
	held       string
	holding    bool
}

func (r *lineRule) line(l string) {
	masked := strings.Contains(l, Redacted)
	if r.holding {
		r.holding = false
		r.emit(r.held, masked || r.alone(l))
	}
	switch {
	case r.alone(l):
		r.emit(Redacted, false)
	case !r.m.hasShortWord(l):
		r.emit(l, false)
	case masked || r.prevMasked:
		r.emit(l, true)
	default:
		r.held, r.holding = l, true
	}
}

// flush passes on a line held for its next, which there is none of.
func (r *lineRule) flush() {
	if r.holding {
		r.holding = false
		r.emit(r.held, false)
	}
}

func (r *lineRule) emit(l string, maskWords bool) {
	if maskWords {
		l = r.m.maskShortWords(l)
	}
	r.prevMasked = strings.Contains(l, Redacted)
	r.out(validText(l))
}

// alone reports whether l holds only a short line of a secret.
func (r *lineRule) alone(l string) bool {
	return r.m != nil && r.m.short[strings.TrimSpace(l)]
}

func (m *masker) hasShortWord(l string) bool {
	if m == nil || len(m.short) == 0 {
		return false
	}
	for w := range strings.FieldsSeq(l) {
		if m.short[w] {
			return true
		}
	}
	return false
}

// maskShortWords masks every word of l (a run of characters between white
// space) that is a short line of a secret, keeping the white space.
func (m *masker) maskShortWords(l string) string {
	var b strings.Builder
	for len(l) > 0 {
		i := strings.IndexFunc(l, unicode.IsSpace)
		if i < 0 {
			i = len(l)
		}
		if w := l[:i]; m.short[w] {
			b.WriteString(Redacted)
		} else {
			b.WriteString(w)
		}
		l = l[i:]
		j := strings.IndexFunc(l, func(r rune) bool { return !unicode.IsSpace(r) })
		if j < 0 {
			j = len(l)
		}
		b.WriteString(l[:j])
		l = l[j:]
	}
	return b.String()
}

func (m *masker) empty() bool { return m == nil || (len(m.patterns) == 0 && len(m.short) == 0) }

// stream returns a maskStream that passes what is written, masked, to
// out: the text between secrets, and Redacted in place of each (with
// redacted set).
func (m *masker) stream(out func(b []byte, redacted bool)) *maskStream {
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
	out     func(b []byte, redacted bool)
	pending []byte
}

// Write masks p, after what was held back.
func (s *maskStream) Write(p []byte) {
	if s.m == nil || len(s.m.patterns) == 0 {
		s.out(p, false)
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
		if s.m.byFirst[buf[i]] == nil {
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
			s.out(buf[start:i], false)
		}
		s.out(redactedBytes, true)
		i += n
		start = i
	}
	if i > start {
		s.out(buf[start:i], false)
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
	for _, p := range m.byFirst[b[0]] {
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
		// Compared with the text made valid, not as it is: an output
		// holding a NUL byte holds no secret for it.
		if m.Mask(v.AsString()) != validText(v.AsString()) {
			return v.Mark(sensitiveMark), nil
		}
		return v, nil
	})
	return out
}

// sensitiveStrings returns every string in v under a sensitive mark, and
// the text of the lang.Derived marks in v: what functions computed from
// sensitive values, which may be printed on its own though v holds it
// inside a larger string. A derived text shorter than minSecretLine is
// left out: substr(secret.x, 0, 1) would mask a letter everywhere.
func sensitiveStrings(v cty.Value) []string {
	var out []string
	if v == cty.NilVal {
		return nil
	}
	uv, pvms := v.UnmarkDeepWithPaths()
	for _, pvm := range pvms {
		for mark := range pvm.Marks {
			if d, ok := mark.(lang.Derived); ok && utf8.RuneCountInString(strings.TrimSpace(d.Text)) >= minSecretLine {
				out = append(out, d.Text)
			}
		}
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

// collectStrings adds the strings in v to out, and the numbers written
// as text (a sensitive port or PIN), when they have minSecretLine digits
// or more: masking "42" would mask every 42 in the output.
func collectStrings(v cty.Value, out *[]string) {
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if !v.IsKnown() || v.IsNull() {
			return true, nil
		}
		switch v.Type() {
		case cty.String:
			if v.AsString() != "" {
				*out = append(*out, v.AsString())
			}
		case cty.Number:
			if s, err := convert.Convert(v, cty.String); err == nil && len(s.AsString()) >= minSecretLine {
				*out = append(*out, s.AsString())
			}
		}
		return true, nil
	})
}
