package ufw

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// rulesOf parses a rule set as the step's rules argument holds it.
func rulesOf(t *testing.T, rules ...map[string]cty.Value) *want {
	t.Helper()
	vals := make([]cty.Value, len(rules))
	for i, r := range rules {
		vals[i] = cty.ObjectVal(r)
	}
	a := rulesArgs{Rules: cty.TupleVal(vals)}
	if len(vals) == 0 {
		a.Rules = cty.EmptyTupleVal
	}
	w, diags := a.parseWant(sdk.Known{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	return w
}

func allow(port string, extra ...string) map[string]cty.Value {
	r := map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.StringVal(port), "proto": cty.StringVal("tcp")}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i]] = cty.StringVal(extra[i+1])
	}
	return r
}

const header = "*filter\n### RULES ###\n\n"

func TestDiff(t *testing.T) {
	cur := parseState(header+
		"### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"+
		"### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n"+
		"### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in comment=7765622073"+"\n"+
		"### tuple ### allow any 9090 0.0.0.0/0 any 203.0.113.0/24 in\n",
		header+
			"### tuple ### allow tcp 22 ::/0 any ::/0 in\n"+
			"### tuple ### allow tcp 80 ::/0 any ::/0 in\n"+
			"### tuple ### allow tcp 443 ::/0 any ::/0 in comment=7765622073\n"+
			"### tuple ### allow any OpenSSH ::/0 any ::/0 OpenSSH - in\n",
		"IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n", "ENABLED=yes\nLOGLEVEL=low\n")
	if len(cur.Others) != 1 || len(cur.Rules) != 4 || !cur.Rules[0].v6 || cur.Rules[3].v6 || cur.Rules[2].Comment != "web s" {
		t.Fatalf("state = %+v", cur)
	}
	tests := map[string]struct {
		want     *want
		defaults map[string]string
		lines    []string
		args     [][]string
	}{
		"same set": {
			want: rulesOf(t, allow("22"), allow("80"), allow("443", "comment", "web s"), map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.NumberIntVal(9090), "from": cty.StringVal("203.0.113.7/24")}),
		},
		"limit updates allow in place, new rules before the stale ones go": {
			want:  rulesOf(t, map[string]cty.Value{"action": cty.StringVal("limit"), "port": cty.StringVal("22"), "proto": cty.StringVal("tcp")}, allow("8443"), allow("80")),
			lines: []string{"~ allow 22/tcp from any -> limit 22/tcp from any", "+ allow 8443/tcp from any", "- allow 443/tcp from any # web s", "- allow 9090 from 203.0.113.0/24"},
			args: [][]string{{"limit", "in", "proto", "tcp", "from", "any", "to", "any", "port", "22"},
				{"insert", "2", "allow", "in", "proto", "tcp", "from", "any", "to", "any", "port", "8443"},
				{"delete", "allow", "in", "proto", "tcp", "from", "any", "to", "any", "port", "443"},
				{"delete", "allow", "in", "from", "203.0.113.0/24", "to", "any", "port", "9090"}},
		},
		"a moved rule deleted then inserted, a new comment updated": {
			want:  rulesOf(t, allow("80"), allow("22"), allow("443", "comment", "https"), map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.StringVal("9090"), "from": cty.StringVal("203.0.113.0/24")}),
			lines: []string{"- allow 22/tcp from any", "+ allow 22/tcp from any", "~ allow 443/tcp from any # web s -> allow 443/tcp from any # https"},
		},
		"defaults: closing before the deletions, opening last": {
			want:     rulesOf(t, allow("22")),
			defaults: map[string]string{"incoming": "allow", "outgoing": "deny"},
			lines:    []string{"~ default outgoing: allow -> deny", "- allow 80/tcp from any", "- allow 443/tcp from any # web s", "- allow 9090 from 203.0.113.0/24", "~ default incoming: deny -> allow"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			tt.want.Defaults = tt.defaults
			if tt.want.Defaults == nil {
				tt.want.Defaults = map[string]string{}
			}
			got := diff(cur, tt.want)
			if diff := cmp.Diff(tt.lines, changeLines(got)); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			for i, args := range tt.args {
				if diff := cmp.Diff(args, got[i].Args); diff != "" {
					t.Errorf("change %d args (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestGuard(t *testing.T) {
	conn := &sshConn{Client: netip.MustParseAddr("10.0.0.5"), Server: netip.MustParseAddr("10.0.0.1"), Port: 22}
	deny22 := map[string]cty.Value{"action": cty.StringVal("deny"), "port": cty.StringVal("22")}
	tests := map[string]struct {
		rules    *want
		incoming string
		want     int
	}{
		"allowed":                     {rulesOf(t, allow("22")), "deny", -1},
		"default deny":                {rulesOf(t, allow("80")), "deny", 1},
		"default allow":               {rulesOf(t, allow("80")), "allow", -1},
		"deny first":                  {rulesOf(t, deny22, allow("22")), "deny", 0},
		"allowed from the admin net":  {rulesOf(t, allow("22", "from", "10.0.0.0/24"), deny22), "deny", -1},
		"other network":               {rulesOf(t, allow("22", "from", "192.0.2.0/24")), "deny", 1},
		"a range":                     {rulesOf(t, allow("20:30")), "deny", -1},
		"an allow on an interface":    {rulesOf(t, allow("22", "interface", "eth0")), "deny", 1},
		"udp does not count":          {rulesOf(t, map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.StringVal("22"), "proto": cty.StringVal("udp")}), "deny", 1},
		"limit lets the first in":     {rulesOf(t, map[string]cty.Value{"action": cty.StringVal("limit"), "port": cty.StringVal("22"), "proto": cty.StringVal("tcp")}), "deny", -1},
		"another destination address": {rulesOf(t, allow("22", "to", "10.0.0.2")), "reject", 1},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := conn.blocker(tt.rules.Rules, tt.incoming, true); got != tt.want {
				t.Errorf("blocker = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		rule    map[string]cty.Value
		summary string
		path    cty.Path
	}{
		"bad action":     {map[string]cty.Value{"action": cty.StringVal("permit")}, "Invalid rule action", cty.GetAttrPath("rules").IndexInt(0).GetAttr("action")},
		"range no proto": {map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.StringVal("6000:6007")}, "Invalid port", cty.GetAttrPath("rules").IndexInt(0).GetAttr("port")},
		"two ports":      {map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.StringVal("80,443")}, "Invalid port", cty.GetAttrPath("rules").IndexInt(0).GetAttr("port")},
		"bad address":    {map[string]cty.Value{"action": cty.StringVal("allow"), "from": cty.StringVal("10.0.0.300")}, "Invalid address", cty.GetAttrPath("rules").IndexInt(0).GetAttr("from")},
		"unknown attr":   {map[string]cty.Value{"action": cty.StringVal("allow"), "src": cty.StringVal("any")}, "Unsupported rule attribute", cty.GetAttrPath("rules").IndexInt(0).GetAttr("src")},
		"port 0":         {map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.NumberIntVal(0)}, "Invalid port", cty.GetAttrPath("rules").IndexInt(0).GetAttr("port")},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a := rulesArgs{Rules: cty.TupleVal([]cty.Value{cty.ObjectVal(tt.rule), cty.ObjectVal(map[string]cty.Value{"action": cty.StringVal("deny"), "port": cty.StringVal("1")})})}
			_, diags := a.parseWant(sdk.Known{})
			if len(diags) != 1 || diags[0].Summary != tt.summary || !diags[0].Path.Equals(tt.path) {
				t.Errorf("diags = %#v", diags)
			}
		})
	}
	a := rulesArgs{Defaults: map[string]string{"incoming": "drop"}, Logging: ptr("loud"), ConfirmTimeout: ptr("1s")}
	_, diags := a.parseWant(sdk.Known{})
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary)
	}
	if diff := cmp.Diff([]string{"Invalid default policy", "Invalid logging level", "Invalid confirm_timeout"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }
