package engine

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// masker hides the sensitive strings of a step's arguments wherever the
// step's plugin might repeat them: its log lines, its error messages, and
// its outputs.
type masker struct {
	secrets  []string
	replacer *strings.Replacer
}

// newMasker masks the given secrets.
func newMasker(secrets []string) *masker {
	m := &masker{secrets: slices.Compact(slices.Sorted(slices.Values(secrets)))}
	if len(m.secrets) == 0 {
		return m
	}
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	pairs := make([]string, 0, 2*len(m.secrets))
	for _, s := range m.secrets {
		pairs = append(pairs, s, Redacted)
	}
	m.replacer = strings.NewReplacer(pairs...)
	return m
}

// Mask replaces every secret in s.
func (m *masker) Mask(s string) string {
	if m.replacer == nil {
		return s
	}
	return m.replacer.Replace(s)
}

// MarkOutputs marks sensitive every string in v that contains a secret,
// so an output that echoes a secret stays masked downstream.
func (m *masker) MarkOutputs(v cty.Value) cty.Value {
	if m.replacer == nil || v == cty.NilVal {
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
