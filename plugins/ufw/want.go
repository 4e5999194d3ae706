package ufw

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// want is the rule set a step declares, checked but with service names
// not yet resolved (they need the target's /etc/services).
type want struct {
	Defaults map[string]string // only the policies the step sets
	Logging  string            // "" keeps the current level
	Rules    []rule
	Enable   bool
}

var (
	actions    = []string{"allow", "deny", "limit", "reject"}
	policies   = []string{"allow", "deny", "reject"}
	directions = []string{"in", "out"}
	protos     = []string{"tcp", "udp", "any"}
	logLevels  = []string{"off", "low", "medium", "high", "full"}
	// policyNames are the keys of defaults, with ufw's name for each.
	policyNames = []string{"incoming", "outgoing", "routed"}
	ruleAttrs   = []string{"action", "port", "proto", "from", "to", "interface", "direction", "comment"}
)

func oneOf(v string, list []string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// parseWant checks a step's arguments and returns the rule set; rules
// unknown at validation time are skipped.
func (a *rulesArgs) parseWant(known sdk.Known) (*want, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	w := &want{Defaults: map[string]string{}, Enable: a.Enable == nil || *a.Enable}
	if known.Has("defaults") {
		for k, v := range a.Defaults {
			path := cty.GetAttrPath("defaults").Index(cty.StringVal(k))
			switch {
			case !oneOf(k, policyNames):
				diags = diags.Errorf(path, "Unknown default policy", fmt.Sprintf("defaults sets %s: %s.", quoted(policyNames), fmt.Sprintf("%q is none of them", k)))
			case !oneOf(v, policies):
				diags = diags.Errorf(path, "Invalid default policy", fmt.Sprintf("The %s policy %q is none of %s.", k, v, quoted(policies)))
			default:
				w.Defaults[k] = v
			}
		}
	}
	if known.Has("logging") && a.Logging != nil {
		if !oneOf(*a.Logging, logLevels) {
			diags = diags.Errorf(cty.GetAttrPath("logging"), "Invalid logging level", fmt.Sprintf("logging is one of %s, not %q.", quoted(logLevels), *a.Logging))
		}
		w.Logging = *a.Logging
	}
	if known.Has("confirm_timeout") && a.ConfirmTimeout != nil {
		if _, err := a.confirmTimeout(); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("confirm_timeout"), "Invalid confirm_timeout", err.Error())
		}
	}
	if !known.Has("rules") || a.Rules.IsNull() {
		return w, diags
	}
	v := a.Rules
	if !v.IsWhollyKnown() {
		return w, diags
	}
	if !v.Type().IsListType() && !v.Type().IsTupleType() && !v.Type().IsSetType() {
		return w, diags.Errorf(cty.GetAttrPath("rules"), "Invalid rules", "rules is a list of objects, e.g. [{ action = \"allow\", port = 22, proto = \"tcp\" }].")
	}
	seen := map[string]int{}
	firstV6, misplaced := -1, false // the first IPv6-only rule; said so
	for it := v.ElementIterator(); it.Next(); {
		idx, ev := it.Element()
		i, _ := idx.AsBigFloat().Int64()
		path := cty.GetAttrPath("rules").IndexInt(int(i))
		r, rd := parseRule(ev, path)
		diags = append(diags, rd...)
		if rd.HasErrors() {
			continue
		}
		if j, dup := seen[r.key()]; dup {
			diags = diags.Errorf(path, "Duplicate rule", fmt.Sprintf("rules[%d] and rules[%d] are the same rule (%s): ufw keeps one; remove one of them.", j, i, r.String()))
			continue
		}
		seen[r.key()] = int(i)
		switch {
		case !r.v4 && firstV6 < 0:
			firstV6 = int(i)
		case r.v4 && firstV6 >= 0 && !misplaced:
			// ufw numbers and keeps IPv6-only rules after the others.
			diags = diags.Errorf(cty.GetAttrPath("rules").IndexInt(firstV6), "IPv6-only rule before others",
				fmt.Sprintf("rules[%d] is for IPv6 only (an IPv6 from or to), and rules[%d] after it is not: ufw puts IPv6-only rules after all the others, so the order would not be the one written. Move the IPv6-only rules to the end.", firstV6, i))
			misplaced = true
		}
		w.Rules = append(w.Rules, r)
	}
	return w, diags
}

// parseRule reads one element of rules.
func parseRule(v cty.Value, path cty.Path) (rule, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return rule{}, diags.Errorf(path, "Invalid rule", "Each rule is an object, e.g. { action = \"allow\", port = 443, proto = \"tcp\" }.")
	}
	attrs := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		name := k.AsString()
		at := path.GetAttr(name)
		if !oneOf(name, ruleAttrs) {
			diags = diags.Errorf(at, "Unsupported rule attribute", fmt.Sprintf("A rule has %s; %q is none of them.", quoted(ruleAttrs), name))
			continue
		}
		if ev.IsNull() {
			continue
		}
		switch ev.Type() {
		case cty.String:
			attrs[name] = ev.AsString()
		case cty.Number:
			attrs[name] = ev.AsBigFloat().Text('f', -1)
		default:
			diags = diags.Errorf(at, "Invalid rule attribute", fmt.Sprintf("%s is a string (or a number for port), not %s.", name, ev.Type().FriendlyName()))
		}
	}
	if diags.HasErrors() {
		return rule{}, diags
	}
	r := rule{Action: attrs["action"], Proto: orDefault(attrs["proto"], "any"), Port: orDefault(attrs["port"], "any"),
		FromPort: "any", Direction: orDefault(attrs["direction"], "in"), Interface: attrs["interface"], Comment: attrs["comment"]}
	if !oneOf(r.Action, actions) {
		diags = diags.Errorf(path.GetAttr("action"), "Invalid rule action", fmt.Sprintf("action is one of %s; got %q.", quoted(actions), r.Action))
	}
	if !oneOf(r.Proto, protos) {
		diags = diags.Errorf(path.GetAttr("proto"), "Invalid protocol", fmt.Sprintf("proto is one of %s; got %q.", quoted(protos), r.Proto))
	}
	if !oneOf(r.Direction, directions) {
		diags = diags.Errorf(path.GetAttr("direction"), "Invalid direction", fmt.Sprintf("direction is %s; got %q.", quoted(directions), r.Direction))
	}
	if r.Port != "any" {
		if err := checkPort(r.Port, r.Proto); err != nil {
			diags = diags.Errorf(path.GetAttr("port"), "Invalid port", err.Error()+".")
		}
	}
	if r.Action == "limit" && r.Direction == "out" {
		diags = diags.Errorf(path.GetAttr("action"), "Invalid rule action", "ufw limits incoming connections only: use direction = \"in\" with limit.")
	}
	if r.Interface != "" && !ifaceName.MatchString(r.Interface) {
		diags = diags.Errorf(path.GetAttr("interface"), "Invalid interface", fmt.Sprintf("%q is not an interface name (\"eth0\", up to 15 letters, digits and _.+-).", r.Interface))
	}
	if strings.ContainsAny(r.Comment, "\n\r'\"") {
		diags = diags.Errorf(path.GetAttr("comment"), "Invalid comment", "A comment is one line without quotes.")
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"from", &r.From}, {"to", &r.To}} {
		if *f.dst, err = normalizeAddr(attrs[f.name]); err != nil {
			diags = diags.Errorf(path.GetAttr(f.name), "Invalid address", fmt.Sprintf("%s is \"any\", an address (\"203.0.113.7\") or a network (\"203.0.113.0/24\"); %q is none: %v.", f.name, attrs[f.name], err))
		}
	}
	if diags.HasErrors() {
		return rule{}, diags
	}
	r.v4, r.v6 = family(r.From, r.To)
	if !r.v4 && !r.v6 {
		diags = diags.Errorf(path.GetAttr("to"), "Mixed address families", "from and to are an IPv4 and an IPv6 address: a rule holds one family.")
	}
	return r, diags
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// resolve turns service names into ports as ufw does (a service with only
// TCP, like http, becomes 80/tcp; one with both, like domain, 53 on any
// protocol), and drops the IPv6 half of rules where ufw's IPv6 is off.
func (w *want) resolve(ctx context.Context, t sdk.Target, ipv6 bool) error {
	var services map[string]map[string]string // name -> proto -> port
	for i := range w.Rules {
		r := &w.Rules[i]
		r.v6 = r.v6 && ipv6
		if r.Port == "any" || portNumber.MatchString(r.Port) || portRange.MatchString(r.Port) {
			continue
		}
		if services == nil {
			var err error
			if services, err = readServices(ctx, t); err != nil {
				return err
			}
		}
		ports := services[r.Port]
		if r.Proto != "any" {
			if ports[r.Proto] == "" {
				return &sdk.ArgError{Path: cty.GetAttrPath("rules").IndexInt(i).GetAttr("port"), Summary: "Unknown service",
					Detail: fmt.Sprintf("%s has no %s/%s: write the port's number instead.", "/etc/services on "+t.Name(), r.Port, r.Proto)}
			}
			r.Port = ports[r.Proto]
			continue
		}
		switch {
		case ports["tcp"] != "" && ports["udp"] == ports["tcp"]:
			r.Port = ports["tcp"]
		case ports["tcp"] != "" && ports["udp"] == "":
			r.Port, r.Proto = ports["tcp"], "tcp"
		case ports["udp"] != "" && ports["tcp"] == "":
			r.Port, r.Proto = ports["udp"], "udp"
		default:
			return &sdk.ArgError{Path: cty.GetAttrPath("rules").IndexInt(i).GetAttr("port"), Summary: "Unknown service",
				Detail: fmt.Sprintf("/etc/services on %s has no service %q: write the port's number instead.", t.Name(), r.Port)}
		}
	}
	return nil
}

// readServices reads the target's /etc/services.
func readServices(ctx context.Context, t sdk.Target) (map[string]map[string]string, error) {
	f, err := t.Open(ctx, "/etc/services")
	if err != nil {
		return nil, fmt.Errorf("read /etc/services on %s to resolve service names: %w", t.Name(), err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(fields[1], "/")
		if !ok {
			continue
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			if out[name][proto] == "" {
				out[name][proto] = port
			}
		}
	}
	return out, sc.Err()
}
