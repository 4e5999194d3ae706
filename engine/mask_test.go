package engine

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl/lang"
)

func TestMaskerRules(t *testing.T) {
	pem := "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\nxQ==\n=\n-----END KEY-----"
	tests := map[string]struct {
		secrets []string
		in      string
		want    string
	}{
		"whole value": {
			secrets: []string{"hunter2"},
			in:      "pw=hunter2, again hunter2",
			want:    "pw=(sensitive), again (sensitive)",
		},
		"a short single-line secret is masked everywhere": {
			secrets: []string{"ab"},
			in:      "cab ab",
			want:    "c(sensitive) (sensitive)",
		},
		"a secret containing another is masked whole": {
			secrets: []string{"abc", "abcdef"},
			in:      "xabcdefx abcx",
			want:    "x(sensitive)x (sensitive)x",
		},
		"a multi-line secret printed whole": {
			secrets: []string{pem},
			in:      "key:\n" + pem + "\ndone",
			want:    "key:\n(sensitive)\ndone",
		},
		"a multi-line secret ending in a newline": {
			secrets: []string{"first-line\nsecond-line\n"},
			in:      "x\nfirst-line\nsecond-line\ny",
			want:    "x\n(sensitive)\ny",
		},
		"every line of a multi-line secret, indented": {
			secrets: []string{pem},
			in:      "key: |\n    " + strings.ReplaceAll(pem, "\n", "\n    ") + "\ndone",
			want:    "key: |\n    (sensitive)\n    (sensitive)\n    (sensitive)\n    (sensitive)\n(sensitive)\n    (sensitive)\ndone",
		},
		"lines of a multi-line secret inside other text": {
			secrets: []string{pem},
			in:      "first MIIEvQIBADANBgkqhkiG9w0B then AQEFAASCBKcwggSjAgEAAoIB.",
			want:    "first (sensitive) then (sensitive).",
		},
		"a short line alone is masked, inside a line it is not": {
			secrets: []string{"{\n  \"k\": \"v4lue-secret\"\n}"},
			in:      "{\n  \"other\": 1\n}\nx}y\n  }  ",
			want:    "(sensitive)\n  \"other\": 1\n(sensitive)\nx}y\n(sensitive)",
		},
		"a short line as a word on a line with something masked": {
			secrets: []string{pem},
			in:      strings.ReplaceAll(pem, "\n", " "),
			want:    "(sensitive) (sensitive) (sensitive) (sensitive) (sensitive) (sensitive)",
		},
		"a short line as a word next to a masked line": {
			secrets: []string{"first-line\n==\nlast-line"},
			in:      "> first-line\n> ==\n> ==x\n\n> ==\n> last-line\n> ==\n",
			want:    "> (sensitive)\n> (sensitive)\n> ==x\n\n> (sensitive)\n> (sensitive)\n> (sensitive)\n",
		},
		"a short line as a word elsewhere is left": {
			secrets: []string{"first-line\n==\nlast-line"},
			in:      "a == b\nc\nd == e",
			want:    "a == b\nc\nd == e",
		},
		"a CRLF secret printed with LF": {
			secrets: []string{"line-one\r\nline-two\r\n"},
			in:      "a\nline-one\nline-two\nb",
			want:    "a\n(sensitive)\nb",
		},
		"an LF secret printed with CRLF": {
			secrets: []string{"line-one\nline-two"},
			in:      "a\r\nline-one\r\nline-two\r\nb",
			want:    "a\r\n(sensitive)\r\nb",
		},
		"a secret with white space around it": {
			secrets: []string{"  padded-secret \t"},
			in:      "[padded-secret]",
			want:    "[(sensitive)]",
		},
		"invalid UTF-8 is replaced": {
			secrets: []string{"s3cret"},
			in:      "caf\xe9 s3cret \xff",
			want:    "caf\uFFFD (sensitive) \uFFFD",
		},
		"no secrets": {
			in:   "plain \xff",
			want: "plain \uFFFD",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := newMasker(tc.secrets).Mask(tc.in); got != tc.want {
				t.Errorf("Mask(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestMaskStreamChunking is a property test: for random secrets (one or
// several lines, LF or CRLF, some lines short), random text holding them
// and their lines, sometimes after padding that puts them across the
// point where a long line is cut, and random chunkings of that text, the
// lines a step's output becomes are the same for every chunking, hold no
// secret and no line of one, and are otherwise the text itself.
func TestMaskStreamChunking(t *testing.T) {
	for seed := range uint64(150) {
		rng := rand.New(rand.NewPCG(seed, 1))
		secrets := randomSecrets(rng)
		text := randomText(rng, secrets)
		checkMasking(t, secrets, text, func(n int) int { return 1 + rng.IntN(n) })
	}
}

// FuzzMaskStream is TestMaskStreamChunking's property for inputs the
// fuzzer picks: secret is split at "|" into several secrets.
func FuzzMaskStream(f *testing.F) {
	f.Add("ab\ncd|x-y-z", "01ab\ncd23x-y-z4", uint64(3))
	f.Add("-----BEGIN-----\r\nAAAA\r\n==\r\n", "-----BEGIN-----\nAAAA\n==\n", uint64(7))
	f.Fuzz(func(t *testing.T, secret, text string, seed uint64) {
		var secrets []string
		for _, s := range strings.Split(secret, "|") {
			// Secrets are cty strings, which are valid UTF-8; a secret
			// sharing text with what masking writes is not a case.
			if s != "" && utf8.ValidString(s) && !strings.ContainsAny(s, Redacted+"\uFFFD") {
				secrets = append(secrets, s)
			}
		}
		if strings.ContainsAny(text, Redacted+"\uFFFD") {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 2))
		checkMasking(t, secrets, text, func(n int) int { return 1 + rng.IntN(n) })
	})
}

// checkMasking runs text through a step's output stream in one write and
// in chunks of the sizes next picks, and checks the property above.
func checkMasking(t *testing.T, secrets []string, text string, next func(int) int) {
	t.Helper()
	m := newMasker(secrets)
	whole := streamLines(m, [][]byte{[]byte(text)})
	var chunks [][]byte
	for rest := text; len(rest) > 0; {
		n := next(min(len(rest), 300))
		if rng := next(50); rng == 1 && len(rest) > 70000 {
			n = next(70000) // now and then a big chunk
		}
		chunks = append(chunks, []byte(rest[:n]))
		rest = rest[n:]
	}
	chunked := streamLines(m, chunks)
	if diff := cmp.Diff(whole, chunked); diff != "" {
		t.Fatalf("secrets %q, text %q: chunked output differs (-whole +chunked):\n%s", secrets, abbrev(text), diff)
	}
	if want := referenceLines(m, text); !cmp.Equal(whole, want) {
		t.Fatalf("secrets %q, text %q: output differs from the reference (-want +got):\n%s", secrets, abbrev(text), cmp.Diff(want, whole))
	}
	for _, l := range whole {
		for _, s := range secrets {
			if strings.Contains(l, s) {
				t.Fatalf("secrets %q: line %q holds %q", secrets, abbrev(l), s)
			}
			for _, sl := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				sl = strings.TrimSpace(sl)
				long := utf8.RuneCountInString(sl) >= minSecretLine || !strings.ContainsAny(s, "\r\n")
				if sl != "" && (long && strings.Contains(l, sl) || strings.TrimSpace(l) == sl) {
					t.Fatalf("secrets %q: line %q holds the secret's line %q", secrets, abbrev(l), sl)
				}
			}
		}
	}
}

// streamLines is what a step's stdout shows for the given writes.
func streamLines(m *masker, writes [][]byte) []string {
	var lines []string
	w := newOutputStream(m, func(l string) { lines = append(lines, l) })
	for _, b := range writes {
		_, _ = w.Write(b)
	}
	w.flush()
	return lines
}

// referenceLines is streamLines by a simpler road: mask the whole text by
// trying every pattern at every position, then split it into lines, cut
// the long ones (before a Redacted the cut would split) and apply the
// line rule.
func referenceLines(m *masker, text string) []string {
	type segment struct {
		text     string
		redacted bool
	}
	var segs []segment
	plain := 0
	for i := 0; i < len(text); {
		n := 0
		for _, p := range m.patterns {
			if strings.HasPrefix(text[i:], string(p)) && len(p) > n {
				n = len(p)
			}
		}
		if n == 0 {
			i++
			continue
		}
		segs = append(segs, segment{text: text[plain:i]}, segment{text: Redacted, redacted: true})
		i += n
		plain = i
	}
	segs = append(segs, segment{text: text[plain:]})

	var lines []string
	r := m.lines(func(l string) { lines = append(lines, l) })
	var line []byte
	for _, sg := range segs {
		if sg.redacted {
			if start := len(line); start > 0 && start+len(Redacted) > maxLine {
				r.line(string(line))
				line = line[:0]
			}
			line = append(line, Redacted...)
			continue
		}
		parts := strings.Split(sg.text, "\n")
		for k, part := range parts {
			line = append(line, part...)
			for len(line) > maxLine {
				n := cutAt(line, maxLine)
				r.line(string(line[:n]))
				line = append([]byte(nil), line[n:]...)
			}
			if k < len(parts)-1 {
				r.line(strings.TrimSuffix(string(line), "\r"))
				line = line[:0]
			}
		}
	}
	if len(line) > 0 {
		r.line(strings.TrimSuffix(string(line), "\r"))
	}
	r.flush()
	return lines
}

// alphabet has no letter of Redacted or of U+FFFD's encoding, so a secret
// never forms across what masking wrote.
const alphabet = "abcdxyz-=}\n\r \xff\xe2\x82\xac"

func randomString(rng *rand.Rand, n int, valid bool) string {
	var b strings.Builder
	for b.Len() < n {
		c := alphabet[rng.IntN(len(alphabet))]
		switch {
		case c == 0xe2 || c == 0x82 || c == 0xac:
			b.WriteString("€")
		case c == 0xff && valid:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func randomSecrets(rng *rand.Rand) []string {
	var out []string
	for range 1 + rng.IntN(3) {
		s := randomString(rng, 1+rng.IntN(20), true)
		if rng.IntN(3) == 0 {
			s = strings.ReplaceAll(s, "\n", "\r\n")
		}
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// randomText mixes random bytes, the secrets, their lines, and now and
// then padding long enough to reach a line cut.
func randomText(rng *rand.Rand, secrets []string) string {
	var b strings.Builder
	for range rng.IntN(12) {
		switch rng.IntN(5) {
		case 0:
			b.WriteString(strings.Repeat("a", maxLine-rng.IntN(40)))
		case 1, 2:
			if len(secrets) > 0 {
				s := secrets[rng.IntN(len(secrets))]
				if lines := strings.Split(s, "\n"); rng.IntN(2) == 0 {
					s = lines[rng.IntN(len(lines))]
				}
				b.WriteString(s)
			}
		default:
			b.WriteString(randomString(rng, rng.IntN(30), false))
		}
	}
	return b.String()
}

func abbrev(s string) string {
	if len(s) > 200 {
		return s[:100] + "..." + s[len(s)-100:]
	}
	return s
}

// TestSensitiveStringsDerived: what functions derived from a secret, and
// a sensitive number, are masked too, when long enough to be masked
// everywhere.
func TestSensitiveStringsDerived(t *testing.T) {
	v := cty.ObjectVal(map[string]cty.Value{
		"script": cty.StringVal("echo TOKEN x").WithMarks(cty.NewValueMarks(sensitiveMark, lang.Derived{Text: "TOKEN"}, lang.Derived{Text: "to"})),
		"plain":  cty.StringVal("nothing"),
		"pin":    cty.NumberIntVal(482913).Mark(sensitiveMark),
		"small":  cty.NumberIntVal(42).Mark(sensitiveMark),
	})
	got := sensitiveStrings(v)
	slices.Sort(got)
	if want := []string{"482913", "TOKEN", "echo TOKEN x"}; !slices.Equal(got, want) {
		t.Errorf("sensitiveStrings = %q, want %q", got, want)
	}
	if got := newMasker(got).Mask("TOKEN to"); got != "(sensitive) to" {
		t.Errorf("masked %q", got)
	}
}

// TestMarkOutputs marks the strings of an output that hold a secret, and
// only those.
func TestMarkOutputs(t *testing.T) {
	m := newMasker([]string{"s3cret-value"})
	v := cty.ObjectVal(map[string]cty.Value{
		"echo":   cty.StringVal("got s3cret-value"),
		"binary": cty.StringVal("nul\x00byte"),
		"plain":  cty.StringVal("plain"),
	})
	got := m.MarkOutputs(v)
	for name, want := range map[string]bool{"echo": true, "binary": false, "plain": false} {
		if marked := got.GetAttr(name).HasMark(sensitiveMark); marked != want {
			t.Errorf("%s marked %v, want %v", name, marked, want)
		}
	}
}
