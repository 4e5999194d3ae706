package ufw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zrun-dev/zrun/sdk"
)

// The files ufw keeps its configuration in; zrun reads them and snapshots
// them for the confirmed apply, and changes them only through ufw.
const (
	userRules    = "/etc/ufw/user.rules"
	user6Rules   = "/etc/ufw/user6.rules"
	defaultsFile = "/etc/default/ufw"
	confFile     = "/etc/ufw/ufw.conf"
)

// stateFiles are the files a snapshot holds, in this order.
var stateFiles = []string{userRules, user6Rules, defaultsFile, confFile}

// state is a firewall's configuration as its files record it.
type state struct {
	Enabled  bool
	Logging  string            // off, low, medium, high, full
	Defaults map[string]string // incoming, outgoing, routed -> allow, deny, reject
	IPv6     bool
	// Rules are the rules zrun manages, in ufw's order: user.rules' first,
	// then those only user6.rules holds.
	Rules []rule
	// Others are the tuples zrun leaves alone (application profiles,
	// routed and logged rules), as their lines.
	Others []string
}

// separator splits the files in readState's output.
const separator = "=====zrun-ufw-file====="

// runner runs ufw's commands on a target, with or without sudo.
type runner struct {
	t    sdk.Target
	sudo bool
}

// run runs a command and returns its output; a non-zero exit is an error
// that quotes the output.
func (r *runner) run(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	res, err := r.t.Exec(ctx, &sdk.Command{Args: args, Sudo: r.sudo, Stdout: &out, Stderr: &out,
		Env: map[string]string{"LC_ALL": "C"}})
	if err != nil {
		return out.String(), fmt.Errorf("%s on %s: %w", strings.Join(args, " "), r.t.Name(), err)
	}
	if res.ExitCode != 0 {
		return out.String(), &exitError{Code: res.ExitCode, msg: fmt.Sprintf("`%s` exited with code %d on %s: %s", strings.Join(args, " "), res.ExitCode, r.t.Name(), strings.TrimSpace(out.String()))}
	}
	return out.String(), nil
}

// exitError is a command that exited non-zero.
type exitError struct {
	Code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exitCode is err's exit code, or -1 when err is not an exitError.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return -1
}

// sh runs a shell script.
func (r *runner) sh(ctx context.Context, script string, args ...string) (string, error) {
	return r.run(ctx, append([]string{"sh", "-c", script, "zrun-ufw"}, args...)...)
}

// readFiles is the shell that prints the firewall's files ("$@"), each
// after a separator line.
const readFiles = `command -v ufw >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
command -v ufw >/dev/null 2>&1 || { echo "ufw is not installed: install it with apt-get install ufw" >&2; exit 3; }
for f in "$@"; do echo "` + separator + `"; cat "$f" 2>/dev/null || true; done
`

// readState reads the firewall's files in one command.
func (r *runner) readState(ctx context.Context) (*state, error) {
	out, err := r.sh(ctx, readFiles, stateFiles...)
	if err != nil {
		return nil, err
	}
	return r.parseFiles(out)
}

// parseFiles parses readFiles' output (what follows its first separator).
func (r *runner) parseFiles(out string) (*state, error) {
	parts := strings.Split(out, separator+"\n")
	if len(parts) != len(stateFiles)+1 {
		return nil, fmt.Errorf("cannot read ufw's files on %s: unexpected output %q", r.t.Name(), out)
	}
	return parseState(parts[1], parts[2], parts[3], parts[4]), nil
}

// parseState reads the rules files, /etc/default/ufw and ufw.conf.
func parseState(rules4, rules6, defaults, conf string) *state {
	s := &state{Logging: "low", Defaults: map[string]string{"incoming": "deny", "outgoing": "allow", "routed": "deny"}}
	policy := map[string]string{"DROP": "deny", "ACCEPT": "allow", "REJECT": "reject"}
	names := map[string]string{"DEFAULT_INPUT_POLICY": "incoming", "DEFAULT_OUTPUT_POLICY": "outgoing", "DEFAULT_FORWARD_POLICY": "routed"}
	for _, kv := range assignments(defaults) {
		if name, ok := names[kv[0]]; ok && policy[kv[1]] != "" {
			s.Defaults[name] = policy[kv[1]]
		}
		if kv[0] == "IPV6" {
			s.IPv6 = kv[1] == "yes"
		}
	}
	for _, kv := range assignments(conf) {
		switch kv[0] {
		case "ENABLED":
			s.Enabled = kv[1] == "yes"
		case "LOGLEVEL":
			s.Logging = kv[1]
		}
	}
	index := map[string]int{}
	for i, text := range []string{rules4, rules6} {
		for _, line := range strings.Split(text, "\n") {
			r, managed, ok := parseTuple(line)
			switch {
			case !ok:
			case !managed:
				s.Others = append(s.Others, line)
			default:
				if j, seen := index[r.key()]; seen {
					s.Rules[j].v6 = true
					continue
				}
				r.v4, r.v6 = i == 0, i == 1
				index[r.key()] = len(s.Rules)
				s.Rules = append(s.Rules, r)
			}
		}
	}
	return s
}

// assignments parses the NAME=value lines of a shell-style file.
func assignments(text string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out = append(out, [2]string{k, strings.Trim(v, `"'`)})
		}
	}
	return out
}
