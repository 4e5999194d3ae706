package targets

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/zrun-dev/zrun/sdk"
)

// quote quotes s for a POSIX shell: bare when it holds only characters no
// shell treats specially, otherwise in single quotes (inside which only
// the single quote itself needs care: close, escape it, reopen).
func quote(s string) string {
	if s != "" && safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var (
	safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// sudoMissing is what a command run through sudo says when the host has
// no sudo, instead of the shell's terse "sudo: not found".
const sudoMissing = `{ command -v sudo >/dev/null 2>&1 || { echo "zrun: sudo is not installed on this host (the command asked for sudo, or the host block says sudo = true): install it, or log in as root without sudo" >&2; exit 127; }; }`

// pidLine makes the remote shell say its pid, which exec hands on to the
// command; sshd made it a process group leader.
const pidLine = `printf '` + pidPrefix + `%s\n' "$$" >&2 &&`

// commandLine is cmd as one line for the remote user's shell (which must
// be POSIX): `printf PID >&2 && cd DIR && exec [sudo -n --] [env K=V...] ARGS...`. The
// environment goes through env(1) rather than the session's "env"
// requests, which sshd refuses unless AcceptEnv lists every name.
func commandLine(cmd *sdk.Command, sudo bool) (string, error) {
	if len(cmd.Args) == 0 {
		return "", fmt.Errorf("a command needs at least a program name (Args is empty)")
	}
	// The first line on stderr is the command's pid (see pidFilter): a
	// cancelled command is killed by it where sshd refuses signals.
	parts := []string{pidLine}
	if cmd.Dir != "" {
		parts = append(parts, "cd "+quote(cmd.Dir)+" &&")
	}
	if sudo {
		parts = append(parts, sudoMissing, "&&")
	}
	parts = append(parts, "exec")
	if sudo {
		parts = append(parts, "sudo -n --")
	}
	if len(cmd.Env) > 0 {
		parts = append(parts, "env")
		for _, k := range slices.Sorted(maps.Keys(cmd.Env)) {
			if !envName.MatchString(k) {
				return "", fmt.Errorf("environment variable name %q is not valid: use letters, digits and underscores, not starting with a digit", k)
			}
			parts = append(parts, quote(k+"="+cmd.Env[k]))
		}
	}
	// A program whose name looks like an option or an assignment must not
	// be taken for one by env or sudo.
	if len(cmd.Env) > 0 && (strings.HasPrefix(cmd.Args[0], "-") || strings.Contains(cmd.Args[0], "=")) {
		parts = append(parts, "--")
	}
	for _, a := range cmd.Args {
		parts = append(parts, quote(a))
	}
	return strings.Join(parts, " "), nil
}

// display is cmd as messages show it: its arguments, quoted, cut short.
func display(cmd *sdk.Command) string {
	var words []string
	for _, a := range cmd.Args {
		words = append(words, quote(a))
	}
	s := strings.Join(words, " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
