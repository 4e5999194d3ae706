package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/secrets"
	"github.com/zrun-dev/zrun/engine/targets"
)

// HostConfigs resolves every host of env into the settings that reach it,
// sorted by name, with secrets (a key's passphrase) resolved through the
// runner's secret sources. Its ctx bounds reading them (a secret's command,
// a Vault request).
func (r *Runner) HostConfigs(ctx context.Context, env *dsl.Environment) ([]*targets.Config, hcl.Diagnostics) {
	hosts := env.Hosts()
	names := keys(hosts)
	values, diags := secrets.Resolve(ctx, r.opts.Config.Dir, env.Secrets(), passphrases(hosts, names))
	if diags.HasErrors() {
		return nil, diags
	}
	memberOf := map[string][]string{}
	for group, members := range env.Groups() {
		for _, m := range members {
			memberOf[m] = append(memberOf[m], group)
		}
	}
	out := make([]*targets.Config, 0, len(names))
	for _, name := range names {
		cfg, moreDiags := r.hostConfig(hosts, name, values)
		diags = append(diags, moreDiags...)
		if cfg != nil {
			cfg.Groups = memberOf[name]
			slices.Sort(cfg.Groups)
			out = append(out, cfg)
		}
	}
	return out, diags
}

// passphrases returns the secrets the passphrases of names and their jump
// hosts are read from, without repeats.
func passphrases(hosts map[string]*dsl.Host, names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range names {
		for h, hops := hosts[name], 0; h != nil && hops <= len(hosts); h, hops = hosts[h.Jump], hops+1 {
			if h.Passphrase != "" && !seen[h.Passphrase] {
				seen[h.Passphrase] = true
				out = append(out, h.Passphrase)
			}
		}
	}
	return out
}

// hostConfig resolves one host of hosts, and the hosts it jumps through,
// with values holding the passphrase secrets they name.
func (r *Runner) hostConfig(hosts map[string]*dsl.Host, name string, values map[string]cty.Value) (*targets.Config, hcl.Diagnostics) {
	var first, prev *targets.Config
	seen := map[string]bool{}
	for h := hosts[name]; h != nil; h = hosts[h.Jump] {
		if seen[h.Name] { // a load error; guarded so that it cannot loop
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Jump host cycle",
				Detail: fmt.Sprintf("Host %q jumps through itself; remove one of the jump arguments of its chain.", name), Subject: h.JumpRange.Ptr()}}
		}
		seen[h.Name] = true
		cfg, diags := r.oneHostConfig(h, values)
		if diags.HasErrors() {
			return nil, diags
		}
		if first == nil {
			first = cfg
		} else {
			prev.Jump = cfg
		}
		prev = cfg
	}
	if first == nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown host",
			Detail: fmt.Sprintf("There is no host %q. %s", name, suggest(name, keys(hosts), "hosts"))}}
	}
	return first, nil
}

// oneHostConfig resolves h's own settings; its Jump is left nil.
func (r *Runner) oneHostConfig(h *dsl.Host, values map[string]cty.Value) (*targets.Config, hcl.Diagnostics) {
	cfg := &targets.Config{
		Name: h.Name, Address: h.Address, Port: h.Port, User: h.User,
		Agent:   h.UsesAgent(os.Getenv("SSH_AUTH_SOCK")),
		HostKey: h.HostKey, Sudo: h.Sudo,
	}
	var diags hcl.Diagnostics
	for _, p := range []struct {
		in, what string
		out      *string
	}{
		{h.PrivateKeyFile, "private_key_file", &cfg.PrivateKeyFile},
		{h.KnownHostsFile, "known_hosts_file", &cfg.KnownHostsFile},
	} {
		path, err := r.hostPath(p.in)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + p.what,
				Detail: fmt.Sprintf("Host %q: %s.", h.Name, err), Subject: h.DeclRange.Ptr()})
		}
		*p.out = path
	}
	if h.Passphrase != "" {
		v, ok := values[h.Passphrase]
		if !ok {
			return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Secret not available",
				Detail: fmt.Sprintf("Host %q's passphrase, secret %q, was not read.", h.Name, h.Passphrase), Subject: h.PassphraseRange.Ptr()})
		}
		v, _ = v.Unmark()
		cfg.Passphrase = v.AsString()
	}
	return cfg, diags
}

// hostPath expands a path of a host block: ~/ is the user's home folder,
// and a relative path is relative to the project folder, as a secret's
// file is. "" stays "" (the default).
func (r *Runner) hostPath(p string) (string, error) {
	switch {
	case p == "":
		return "", nil
	case p == "~" || strings.HasPrefix(p, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s starts with ~ but the home folder is not known: %w", p, err)
		}
		return filepath.Join(home, p[1:]), nil
	case strings.HasPrefix(p, "~"):
		return "", fmt.Errorf("%s: only ~/ (the current user's home folder) is expanded; write the path in full", p)
	case !filepath.IsAbs(p):
		return filepath.Join(r.opts.Config.Dir, p), nil
	}
	return p, nil
}
