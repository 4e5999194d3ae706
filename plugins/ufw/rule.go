package ufw

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// rule is one ufw rule, in the form ufw records it in its rules files
// (a "### tuple ###" line): addresses normalised, "any" for none.
type rule struct {
	Action    string // allow, deny, limit, reject
	Proto     string // tcp, udp, any
	Port      string // the destination port: "22", "6000:6007", "any"
	To        string // the destination address or network, "any"
	From      string // the source address or network, "any"
	FromPort  string // the source port, "any" (zrun does not set it; rules of others may)
	Direction string // in, out
	Interface string // "" for any
	Comment   string

	// v4 and v6 say which of user.rules and user6.rules hold the rule.
	v4, v6 bool
	// raw holds the addresses as the rules file writes them, to delete
	// the rule by what ufw matches (an IPv6 prefix is kept unmasked).
	rawTo, rawFrom string
}

// key identifies a rule by what it matches: two rules of one key are the
// same rule to ufw, whatever their actions and comments (adding the
// second updates the first in place, where it is).
func (r *rule) key() string {
	return strings.Join([]string{r.Proto, r.Port, r.To, r.From, r.FromPort, r.Direction, r.Interface}, " ")
}

// String is the rule as plans and outputs show it: "allow 443/tcp from
// any", "deny out on eth0 53/udp from any to 10.0.0.1 # dns".
func (r *rule) String() string {
	var b strings.Builder
	b.WriteString(r.Action)
	if r.Direction == "out" {
		b.WriteString(" out")
	}
	if r.Interface != "" {
		b.WriteString(" on " + r.Interface)
	}
	port := r.Port
	if port == "any" {
		port = "all"
	}
	if r.Proto != "any" {
		port += "/" + r.Proto
	}
	b.WriteString(" " + port + " from " + r.From)
	if r.FromPort != "any" {
		b.WriteString(" port " + r.FromPort)
	}
	if r.To != "any" {
		b.WriteString(" to " + r.To)
	}
	if r.Comment != "" {
		b.WriteString(" # " + r.Comment)
	}
	return b.String()
}

// args is the ufw command line that adds the rule (after "ufw" and an
// optional "insert N"), or deletes it after "ufw delete".
func (r *rule) args(withComment bool) []string {
	args := []string{r.Action, r.Direction}
	if r.Interface != "" {
		args = append(args, "on", r.Interface)
	}
	if r.Proto != "any" {
		args = append(args, "proto", r.Proto)
	}
	// "any" deletes a rule from both families; a written address is
	// matched as the file writes it.
	from, to := r.From, r.To
	if r.rawFrom != "" && from != "any" {
		from = r.rawFrom
	}
	if r.rawTo != "" && to != "any" {
		to = r.rawTo
	}
	args = append(args, "from", from)
	if r.FromPort != "any" {
		args = append(args, "port", r.FromPort)
	}
	args = append(args, "to", to)
	if r.Port != "any" {
		args = append(args, "port", r.Port)
	}
	if withComment && r.Comment != "" {
		args = append(args, "comment", r.Comment)
	}
	return args
}

// family says which address families a rule with these addresses covers:
// "any" on both sides covers both, an IPv4 address IPv4 only.
func family(from, to string) (v4, v6 bool) {
	v4, v6 = true, true
	for _, a := range []string{from, to} {
		if a == "any" {
			continue
		}
		if p, err := parseNet(a); err == nil {
			v4, v6 = v4 && p.Addr().Is4(), v6 && !p.Addr().Is4()
		}
	}
	return v4, v6
}

// parseNet parses an address or a network ("10.0.0.1", "10.0.0.0/8",
// "2001:db8::/32").
func parseNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// normalizeAddr is an address as rules compare it: "any" for every
// address, a host without its /32 or /128, a network masked.
func normalizeAddr(s string) (string, error) {
	switch s {
	case "", "any", "0.0.0.0/0", "::/0":
		return "any", nil
	}
	p, err := parseNet(s)
	if err != nil {
		return "", err
	}
	if p.Bits() == 0 {
		return "any", nil // a network of every address, however written ("0.0.0.1/0")
	}
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String(), nil
	}
	return p.String(), nil
}

// tuple parses a "### tuple ###" line of a rules file; ok is false for
// any other line, and for the tuples of application profiles and routed
// rules, which zrun leaves alone.
func parseTuple(line string) (r rule, managed, ok bool) {
	rest, found := strings.CutPrefix(line, "### tuple ###")
	if !found {
		return rule{}, false, false
	}
	var comment string
	if i := strings.Index(rest, " comment="); i >= 0 {
		if b, err := hex.DecodeString(strings.TrimSpace(rest[i+len(" comment="):])); err == nil {
			comment = string(b)
		}
		rest = rest[:i]
	}
	f := strings.Fields(rest)
	if len(f) != 7 && len(f) != 9 {
		return rule{}, false, true
	}
	r = rule{Action: f[0], Proto: f[1], Port: f[2], rawTo: f[3], FromPort: f[4], rawFrom: f[5], Comment: comment}
	ifaces := f[len(f)-1]
	r.Direction, r.Interface, _ = strings.Cut(ifaces, "_")
	if len(f) == 9 || strings.Contains(r.Action, ":") || strings.Contains(r.Action, "_") || strings.Contains(ifaces, "!") {
		return r, false, true // an app profile, a routed or a logged rule
	}
	var err error
	if r.To, err = normalizeAddr(r.rawTo); err != nil {
		return r, false, true
	}
	if r.From, err = normalizeAddr(r.rawFrom); err != nil {
		return r, false, true
	}
	return r, true, true
}

var (
	portNumber  = regexp.MustCompile(`^[0-9]{1,5}$`)
	portRange   = regexp.MustCompile(`^([0-9]{1,5}):([0-9]{1,5})$`)
	serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	ifaceName   = regexp.MustCompile(`^[a-zA-Z0-9_.+-]{1,15}$`)
)

// checkPort says what is wrong with a port: a number, a range "a:b" or a
// service name from /etc/services.
func checkPort(p, proto string) error {
	if m := portRange.FindStringSubmatch(p); m != nil {
		lo, _ := strconv.Atoi(m[1])
		hi, _ := strconv.Atoi(m[2])
		if lo < 1 || hi > 65535 || lo >= hi {
			return fmt.Errorf("the range %q must be LOW:HIGH with 1 <= LOW < HIGH <= 65535", p)
		}
		if proto == "any" {
			return fmt.Errorf("a port range needs a protocol (ufw refuses it otherwise): add proto = \"tcp\" or \"udp\"")
		}
		return nil
	}
	if portNumber.MatchString(p) {
		if n, _ := strconv.Atoi(p); n < 1 || n > 65535 {
			return fmt.Errorf("the port %s is not between 1 and 65535", p)
		}
		return nil
	}
	if serviceName.MatchString(p) {
		return nil
	}
	return fmt.Errorf("%q is not a port: write a number (443), a range (\"6000:6007\") or a service name from /etc/services (\"https\"); for several ports write one rule each", p)
}

// portContains reports whether a rule's port ("any", "22", "6000:6007")
// covers port n.
func portContains(p string, n int) bool {
	if p == "any" {
		return true
	}
	if lo, hi, ok := strings.Cut(p, ":"); ok {
		l, _ := strconv.Atoi(lo)
		h, _ := strconv.Atoi(hi)
		return l <= n && n <= h
	}
	v, err := strconv.Atoi(p)
	return err == nil && v == n
}

// addrContains reports whether a rule's address ("any" or a network)
// covers addr.
func addrContains(a string, addr netip.Addr) bool {
	if a == "any" {
		return true
	}
	p, err := parseNet(a)
	return err == nil && p.Contains(addr.Unmap())
}
