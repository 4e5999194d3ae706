package ufw

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// sshConn is the SSH connection zrun reaches the target over, as the
// server sees it ($SSH_CONNECTION: client address and port, server
// address and port).
type sshConn struct {
	Client, Server netip.Addr
	Port           int
}

// probeScript prints the login's uid and $SSH_CONNECTION, then, when
// ufw needs no sudo (root, or $1 = "nosudo"), the firewall's files.
const probeScript = `echo "$(id -u) $SSH_CONNECTION"
m=$1; shift
[ "$(id -u)" = 0 ] || [ "$m" = nosudo ] || exit 0
` + readFiles

// connect probes the target in one command (two when ufw needs sudo): a
// runner for ufw's commands (through sudo unless the login is root or
// sudo = false), the SSH connection zrun uses (nil when the target is
// not reached over SSH: locally there is no connection to guard), and
// the firewall's state.
func connect(ctx context.Context, t sdk.Target, sudo *bool) (*runner, *sshConn, *state, error) {
	mode := "sudo"
	if sudo != nil && !*sudo {
		mode = "nosudo"
	}
	// Not through sudo: it would drop the variable.
	out, err := (&runner{t: t}).sh(ctx, probeScript, append([]string{mode}, stateFiles...)...)
	if err != nil {
		return nil, nil, nil, err
	}
	first, files, _ := strings.Cut(out, "\n")
	f := strings.Fields(first)
	if len(f) == 0 {
		return nil, nil, nil, fmt.Errorf("cannot run a shell on %s: unexpected output %q", t.Name(), out)
	}
	r := &runner{t: t, sudo: f[0] != "0" && mode == "sudo"}
	conn, err := parseSSHConnection(f[1:])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cannot parse $SSH_CONNECTION on %s (%q): %w", t.Name(), first, err)
	}
	var st *state
	if r.sudo {
		st, err = r.readState(ctx)
	} else {
		st, err = r.parseFiles(files)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return r, conn, st, nil
}

// parseSSHConnection parses $SSH_CONNECTION's fields: nil, nil for none.
func parseSSHConnection(f []string) (*sshConn, error) {
	if len(f) != 4 {
		return nil, nil
	}
	c := &sshConn{}
	var err error
	if c.Client, err = netip.ParseAddr(f[0]); err != nil {
		return nil, err
	}
	if c.Server, err = netip.ParseAddr(f[2]); err != nil {
		return nil, err
	}
	if c.Port, err = strconv.Atoi(f[3]); err != nil {
		return nil, err
	}
	c.Client, c.Server = c.Client.Unmap(), c.Server.Unmap()
	return c, nil
}

// blocker finds what in the final rule set would refuse a new TCP
// connection like c: the index of the first matching rule that denies or
// rejects it, len(rules) for the incoming default policy, or -1 when it
// is let in. Rules are taken in ufw's order, first match wins. A rule
// bound to an interface counts when it refuses (the connection may come
// in on it) and not when it allows (it may not).
func (c *sshConn) blocker(rules []rule, incoming string, enabled bool) int {
	if !enabled {
		return -1
	}
	for i, r := range rules {
		if r.Direction != "in" || r.Proto == "udp" || !portContains(r.Port, c.Port) ||
			!addrContains(r.From, c.Client) || !addrContains(r.To, c.Server) || (r.From == "any" && r.To == "any" && !matchesFamily(r, c.Client)) {
			continue
		}
		refuses := r.Action == "deny" || r.Action == "reject"
		if r.Interface != "" && !refuses {
			continue
		}
		if refuses {
			return i
		}
		return -1
	}
	if incoming == "allow" {
		return -1
	}
	return len(rules)
}

// matchesFamily reports whether an any-to-any rule is installed for the
// address family of addr.
func matchesFamily(r rule, addr netip.Addr) bool {
	if addr.Is4() {
		return r.v4
	}
	return r.v6
}

// guard refuses a rule set that would cut the connection zrun is using.
func (c *sshConn) guard(w *want, cur *state) error {
	incoming := cur.Defaults["incoming"]
	if p, ok := w.Defaults["incoming"]; ok {
		incoming = p
	}
	i := c.blocker(w.Rules, incoming, w.Enable)
	if i < 0 {
		return nil
	}
	how := fmt.Sprintf("Add a rule that allows it before, e.g. { action = \"allow\", port = %d, proto = \"tcp\" }, or set allow_ssh_block = true if you mean it (the confirmed apply then reverts it if zrun cannot log in again).", c.Port)
	if i == len(w.Rules) {
		return &sdk.ArgError{Path: cty.GetAttrPath("defaults").Index(cty.StringVal("incoming")), Summary: "Rule set blocks zrun's SSH connection",
			Detail: fmt.Sprintf("No rule allows TCP port %d from %s, which zrun's SSH connection uses, and the incoming policy %q refuses it: zrun and you would be locked out. %s", c.Port, c.Client, incoming, how)}
	}
	return &sdk.ArgError{Path: cty.GetAttrPath("rules").IndexInt(i), Summary: "Rule set blocks zrun's SSH connection",
		Detail: fmt.Sprintf("rules[%d] (%s) refuses TCP port %d from %s, which zrun's SSH connection uses: zrun and you would be locked out. %s", i, w.Rules[i].String(), c.Port, c.Client, how)}
}
