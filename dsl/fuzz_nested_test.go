package dsl

import (
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// nestedHCL turns the fuzzer's bytes into an environment whose value is
// an expression nested as the bytes say: each byte opens a bracket, a
// parenthesis, an object, a template or a directive, writes an operator
// chain or a list, or closes what is open, and a byte of the last kind
// repeats the step before it many times. Mutating small inputs never reaches the
// depths where a parser overflows its stack; this reaches them from a few
// bytes.
func nestedHCL(data []byte) string {
	var b strings.Builder
	var closers []string
	b.WriteString("environment \"e\" {\n  v = ")
	var last func()
	calls := 0 // iterations of every repeat, nested ones too
	for i := 0; i < len(data); i++ {
		c := data[i]
		step := func() {}
		switch c % 12 {
		case 0:
			step = func() { b.WriteString("["); closers = append(closers, "]") }
		case 1:
			step = func() { b.WriteString("("); closers = append(closers, ")") }
		case 2:
			step = func() { b.WriteString("{ k = "); closers = append(closers, " }") }
		case 3:
			step = func() { b.WriteString("\"${"); closers = append(closers, "}\"") }
		case 4:
			step = func() { b.WriteString("\"%{ if true }${"); closers = append(closers, "}%{ endif }\"") }
		case 5:
			step = func() { b.WriteString("1 + ") }
		case 6:
			step = func() { b.WriteString("!") }
		case 7:
			step = func() { b.WriteString("true ? 1 : ") }
		case 8:
			step = func() { b.WriteString("[1, 2], ") }
		case 9:
			step = func() { b.WriteString("-") }
		case 10:
			step = func() {
				if n := len(closers); n > 0 {
					b.WriteString("1" + closers[n-1])
					closers = closers[:n-1]
				}
			}
		case 11:
			// Repeat the step before 64 to 1,408 times; a repeat
			// repeated multiplies, so a few bytes reach any depth.
			prev := last
			if prev == nil {
				continue
			}
			n := 64 * (int(c/12) + 1)
			step = func() {
				for range n {
					// Closers may double the size; a step may write
					// nothing (a close with nothing open), so calls
					// are bounded too.
					if b.Len() > maxNested/2 || calls > maxNested {
						return
					}
					calls++
					prev()
				}
			}
		}
		step()
		last = step
	}
	b.WriteString("1")
	for i := len(closers) - 1; i >= 0; i-- {
		b.WriteString(closers[i])
	}
	b.WriteString("\n}\n")
	return b.String()
}

// maxNested bounds what nestedHCL writes: deep enough to overflow the
// fuzz target's stack without the limits, small enough to run fast.
const maxNested = 64 << 10

// FuzzLoadNested checks that no nesting of any depth or length makes the
// loader overflow its stack (a fatal error no recover catches) or panic.
// The stack is held to 16 MiB, a sixty-fourth of Go's default, so that an
// input that gets past the limits and would overflow the default fails
// here fast, and from small inputs.
func FuzzLoadNested(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 11 + 12*4},  // [ repeated: deeper than MaxDepth
		{0, 11 + 12*1},  // [ repeated: within MaxDepth
		{1, 11 + 12*2},  // ( repeated
		{2, 11 + 12*2},  // objects
		{3, 11 + 12*2},  // templates
		{4, 11 + 12*2},  // directives
		{5, 11 + 12*20}, // 1 + 1 + ... longer than MaxChain
		{6, 11 + 12*20}, // !!!...
		{7, 11 + 12*20}, // conditionals
		{0, 8, 11 + 12*20, 11 + 12*20, 11 + 12*20}, // a long list of short lists: within the limits
		{0, 5, 11, 10, 11, 1, 9, 11},
	} {
		f.Add(seed)
	}
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		src := nestedHCL(data)
		cfg, _ := NewParser().LoadFile(filepath.Join(dir, "nested.hcl"), []byte(src))
		if cfg == nil {
			t.Fatal("nil config")
		}
	})
}
