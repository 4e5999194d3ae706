package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// LocalTarget is the target name of the machine zrun runs on; no group
// may take it.
const LocalTarget = "local"

// Host is a `host "NAME"` block in an environment: a machine steps may
// target. Only the declaration lives here: paths are as written (~ is
// expanded when the engine resolves the host) and the passphrase is the
// name of a secret, never its value.
type Host struct {
	Name    string
	Address string
	// Port is 0 when unset (22).
	Port int
	// User is "" when unset (the local user's name).
	User string

	// PrivateKeyFile is the key to authenticate with, "" for none.
	PrivateKeyFile string
	// Passphrase names the secret that decrypts PrivateKeyFile
	// (passphrase = secret.NAME), "" for none; written at PassphraseRange.
	Passphrase      string
	PassphraseRange hcl.Range
	// Agent is the agent argument, nil when unset: see UsesAgent.
	Agent *bool

	// KnownHostsFile is "" for ~/.ssh/known_hosts; HostKey, when set, is
	// the one key accepted ("ssh-ed25519 AAAA...").
	KnownHostsFile string
	HostKey        string

	// Jump names another host of the environment to connect through
	// (ProxyJump), "" for none; written at JumpRange.
	Jump      string
	JumpRange hcl.Range
	// Sudo runs the host's commands as root through sudo.
	Sudo bool

	// Groups are the groups the host's groups argument puts it in, each
	// written at the same index of GroupRanges.
	Groups      []string
	GroupRanges []hcl.Range

	DeclRange hcl.Range
	NameRange hcl.Range
}

// UsesAgent reports whether the host authenticates through the ssh-agent:
// its agent argument, or by default when it names no private_key_file and
// an agent is there (sshAuthSock is $SSH_AUTH_SOCK). A key file alone is
// not mixed with the agent's keys unless agent = true says so: servers
// count every key offered against MaxAuthTries.
func (h *Host) UsesAgent(sshAuthSock string) bool {
	if h.Agent != nil {
		return *h.Agent
	}
	return h.PrivateKeyFile == "" && sshAuthSock != ""
}

// hostArguments are the arguments of a host block, for suggestions.
var hostArguments = []string{
	"address", "port", "user", "private_key_file", "passphrase", "agent",
	"known_hosts_file", "host_key", "jump", "sudo", "groups",
}

// decodeHost decodes a `host "NAME"` block whose header is valid. String
// arguments may call functions (file(), env()) but reference nothing;
// passphrase is a reference to a secret and is never evaluated here.
func (d *decoder) decodeHost(b *hclsyntax.Block) *Host {
	h := &Host{Name: b.Labels[0], DeclRange: b.DefRange(), NameRange: b.LabelRanges[0]}
	hasAddress := false
	for _, attr := range syntaxAttributes(b.Body) {
		switch attr.Name {
		case "address":
			hasAddress = true
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.Address)...)
		case "user":
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.User)...)
		case "port":
			d.decodePort(attr, h)
		case "private_key_file":
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.PrivateKeyFile)...)
		case "passphrase":
			h.Passphrase, h.PassphraseRange = d.decodePassphrase(attr), attr.Expr.Range()
		case "agent":
			var agent bool
			if diags := decodeStatic(attr.Expr, nil, &agent); diags.HasErrors() {
				d.diags = append(d.diags, diags...)
			} else {
				h.Agent = &agent
			}
		case "known_hosts_file":
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.KnownHostsFile)...)
		case "host_key":
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.HostKey)...)
		case "jump":
			h.JumpRange = attr.Expr.Range()
			d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &h.Jump)...)
		case "sudo":
			d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &h.Sudo)...)
		case "groups":
			h.Groups, h.GroupRanges = d.decodeNameList(attr, "groups", `groups = ["web", "eu"]`)
		default:
			d.errorf(attr.NameRange, "Unsupported argument", "A host block takes no argument %q. %s",
				attr.Name, Suggest(attr.Name, hostArguments, "arguments"))
		}
	}
	for _, nb := range b.Body.Blocks {
		d.errorf(nb.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in a host.", nb.Type)
	}
	if !hasAddress {
		d.errorf(b.DefRange(), "Missing required argument", `Host %q needs an address, like address = "10.0.0.5".`, h.Name)
	}
	return h
}

func (d *decoder) decodePort(attr *hclsyntax.Attribute, h *Host) {
	if diags := decodeStatic(attr.Expr, d.valueCtx, &h.Port); diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return
	}
	if h.Port < 1 || h.Port > 65535 {
		d.errorf(attr.Expr.Range(), "Invalid port", "A port is a number from 1 to 65535; got %d.", h.Port)
		h.Port = 0
	}
}

// decodePassphrase returns the name of the secret `passphrase = secret.NAME`
// names. Anything else is refused: a passphrase written in the project's
// files would be no secret, and evaluating it here would hold it in memory
// for every command, not only for the runs that connect.
func (d *decoder) decodePassphrase(attr *hclsyntax.Attribute) string {
	if tr, diags := hcl.AbsTraversalForExpr(attr.Expr); !diags.HasErrors() {
		if ref, diags := addrs.ParseRef(tr); !diags.HasErrors() && len(ref.Remaining) == 0 {
			if s, ok := ref.Subject.(addrs.Secret); ok {
				return s.Name
			}
		}
	}
	d.errorf(attr.Expr.Range(), "Invalid passphrase",
		`A key's passphrase is read from a secret: passphrase = secret.NAME, with a secret block saying where its value comes from (env, file, command, vault...). It cannot be written in the project's files.`)
	return ""
}

// decodeNameList decodes a static list of names (hosts of a group, groups
// of a host) and the range of each.
func (d *decoder) decodeNameList(attr *hclsyntax.Attribute, what, example string) ([]string, []hcl.Range) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		d.errorf(attr.Expr.Range(), "Invalid "+what, "%s is a list of names, like %s.", what, example)
		return nil, nil
	}
	var names []string
	var ranges []hcl.Range
	for _, e := range exprs {
		var name string
		if diags := decodeStatic(e, nil, &name); diags.HasErrors() {
			d.diags = append(d.diags, diags...)
			continue
		}
		if !addrs.ValidName(name) {
			d.errorf(e.Range(), "Invalid "+what, "%q is not a name: names are letters, digits, underscores and dashes, starting with a letter.", name)
			continue
		}
		if i := slices.Index(names, name); i >= 0 {
			d.errorf(e.Range(), "Duplicate name in "+what, "%q is listed twice; the first is at %s.", name, ranges[i])
			continue
		}
		names = append(names, name)
		ranges = append(ranges, e.Range())
	}
	return names, ranges
}

// checkHosts checks what an environment's hosts and groups say about
// each other, through its chain: jumps and group members name hosts,
// jumps do not loop, groups and hosts do not share names, passphrases
// name secrets. A host inherited by several environments is checked in
// each; report reports each problem once.
func (d *decoder) checkHosts(env *Environment, report func(*hcl.Diagnostic)) {
	hosts := env.Hosts()
	names := sortedKeys(hosts)
	errorf := func(rng hcl.Range, summary, format string, args ...any) {
		report(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
	}
	for _, name := range names {
		h := hosts[name]
		if h.Jump != "" {
			if _, ok := hosts[h.Jump]; !ok {
				errorf(h.JumpRange, "Unknown jump host", "Host %q jumps through %q, which environment %q does not declare. %s",
					name, h.Jump, env.Name, Suggest(h.Jump, withoutName(names, name), "hosts"))
			}
		}
		if h.Passphrase != "" {
			if _, ok := env.Secret(h.Passphrase); !ok {
				errorf(h.PassphraseRange, "Reference to undeclared secret",
					"Host %q's passphrase is secret %q, which environment %q does not declare. Declare it with a secret block. %s",
					name, h.Passphrase, env.Name, Suggest(h.Passphrase, sortedKeys(env.Secrets()), "secrets"))
			}
		}
		for i, g := range h.Groups {
			if g == LocalTarget {
				errorf(h.GroupRanges[i], "Reserved group name", `target = "local" is the machine zrun runs on; give the group another name.`)
			}
			if _, ok := hosts[g]; ok {
				errorf(h.GroupRanges[i], "Group name taken by a host", "Host %q joins group %q, but %q is a host of environment %q; give the group another name.",
					name, g, g, env.Name)
			}
		}
	}
	checkJumpCycles(hosts, names, errorf)
	for _, g := range env.ownGroups() {
		if _, ok := hosts[g.Name]; ok {
			errorf(g.NameRange, "Group name taken by a host", "Environment %q has both a host and a group named %q; targets name either, so rename one.", env.Name, g.Name)
		}
		for i, m := range g.Hosts {
			if _, ok := hosts[m]; !ok {
				errorf(g.HostRanges[i], "Unknown host in group", "Group %q lists %q, which environment %q does not declare. %s",
					g.Name, m, env.Name, Suggest(m, names, "hosts"))
			}
		}
	}
}

// checkJumpCycles reports each cycle of jump hosts once, naming its
// members, at the jump of its first member in name order.
func checkJumpCycles(hosts map[string]*Host, names []string, errorf func(hcl.Range, string, string, ...any)) {
	done := map[string]bool{}
	for _, start := range names {
		var path []string
		for name := start; name != "" && !done[name]; {
			if i := slices.Index(path, name); i >= 0 {
				members := slices.Clone(path[i:])
				first := slices.Index(members, slices.Min(members))
				ordered := append(members[first:], members[:first]...)
				errorf(hosts[ordered[0]].JumpRange, "Jump host cycle",
					"These hosts jump through each other in a cycle: %s. Remove one of their jump arguments.",
					strings.Join(append(ordered, ordered[0]), " → "))
				break
			}
			path = append(path, name)
			h, ok := hosts[name]
			if !ok {
				break
			}
			name = h.Jump
		}
		for _, n := range path {
			done[n] = true
		}
	}
}

func withoutName(names []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
}
