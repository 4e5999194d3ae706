package ufw

import (
	"strings"
	"testing"
)

// FuzzParseState: whatever the target's files hold, reading them neither
// panics nor yields a rule that prints or compares inconsistently.
func FuzzParseState(f *testing.F) {
	f.Add("### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n### tuple ### deny udp 53 10.0.0.1 any 0.0.0.0/0 out_lo comment=646e73\n",
		"### tuple ### allow any OpenSSH ::/0 any ::/0 OpenSSH - in\n", "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n", "ENABLED=yes\nLOGLEVEL=low\n")
	f.Add("### tuple ### route:allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in_eth0!out_eth1\n", "### tuple ###", "", "ENABLED")
	f.Fuzz(func(t *testing.T, rules4, rules6, defaults, conf string) {
		s := parseState(rules4, rules6, defaults, conf)
		keys := map[string]bool{}
		for _, r := range s.Rules {
			if keys[r.key()] {
				t.Fatalf("two rules of key %q", r.key())
			}
			keys[r.key()] = true
			if r.String() == "" || len(r.args(true)) < 6 || strings.Contains(r.From, "/0") || strings.Contains(r.To, "/0") {
				t.Fatalf("rule %+v prints as %q, args %q", r, r.String(), r.args(true))
			}
		}
		if d := diff(s, &want{Defaults: s.Defaults, Logging: s.Logging, Rules: s.Rules, Enable: s.Enabled}); len(d) != 0 {
			t.Fatalf("a state differs from itself: %q", changeLines(d))
		}
	})
}
