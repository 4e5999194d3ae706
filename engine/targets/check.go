package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// CheckResult is what Check found on one host.
type CheckResult struct {
	// Fingerprint is the host key's SHA256 fingerprint.
	Fingerprint string
	// Uname is `uname -a` on the host.
	Uname string
	// Sudo says whether `sudo -n true` succeeded; SudoError why not.
	Sudo      bool
	SudoError string
}

// Check connects to a host (host key, authentication), runs uname and
// tries sudo. Its error says which of these failed and how to fix it.
// The connection is its own, closed before it returns.
func Check(ctx context.Context, cfg *Config) (*CheckResult, error) {
	through, err := dialJump(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if through != nil {
		defer through.Close()
	}
	client, key, err := dial(ctx, cfg, through)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()

	res := &CheckResult{Fingerprint: ssh.FingerprintSHA256(key)}
	out, err := output(client, "uname -a")
	if err != nil {
		return nil, fmt.Errorf("host %s: running uname -a: %w", cfg.label(), err)
	}
	res.Uname = out
	out, err = output(client, "sudo -n true")
	res.Sudo = err == nil
	if !res.Sudo {
		res.SudoError = out
		if res.SudoError == "" {
			res.SudoError = err.Error()
		}
	}
	return res, nil
}

// dialJump connects to cfg's jump host, on a connection of its own; nil
// when cfg has none.
func dialJump(ctx context.Context, cfg *Config) (*ssh.Client, error) {
	if cfg.Jump == nil {
		return nil, nil
	}
	jump, _, err := dial(ctx, cfg.Jump, nil)
	if err != nil {
		return nil, jumpError(cfg, err)
	}
	return jump, nil
}

func jumpError(cfg *Config, err error) error {
	return fmt.Errorf("host %s is reached through jump host %s: %w", cfg.label(), cfg.Jump.label(), err)
}

// output runs line and returns its output (stdout and stderr), trimmed.
func output(client *ssh.Client, line string) (string, error) {
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	var out bytes.Buffer
	sess.Stdout, sess.Stderr = outputs(&out, &out)
	err = sess.Run(line)
	return strings.TrimSpace(out.String()), err
}

// ScannedKey is a host key offered by a host, for `zrun hosts trust`.
type ScannedKey struct {
	// Line is the key in authorized_keys form ("ssh-ed25519 AAAA...").
	Line string
	// Fingerprint is its SHA256 fingerprint.
	Fingerprint string
	// Refused is what connecting would say of the key: nil when it is
	// trusted already, a *HostKeyError when it is unknown or changed.
	Refused error
}

// errScanned ends a scan's handshake once the key is known.
var errScanned = errors.New("host key recorded")

// Scan connects to a host without authenticating and returns the key it
// offers (as ssh-keyscan does). A jump host is connected to fully: its
// own key must be trusted already.
func Scan(ctx context.Context, cfg *Config) (*ScannedKey, error) {
	through, err := dialJump(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if through != nil {
		defer through.Close()
	}
	var seen ssh.PublicKey
	config := &ssh.ClientConfig{
		User: cfg.user(),
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			seen = key
			return errScanned
		},
		Timeout: cfg.timeout(),
	}
	_, _, _, err = handshake(ctx, cfg, through, config)
	if seen == nil {
		return nil, fmt.Errorf("scanning the host key of %s: %w", cfg.label(), err)
	}
	key := &ScannedKey{
		Line:        strings.TrimSpace(string(ssh.MarshalAuthorizedKey(seen))),
		Fingerprint: ssh.FingerprintSHA256(seen),
	}
	check, err := hostKeyCallback(cfg)
	if err != nil {
		return nil, err
	}
	key.Refused = check(cfg.addr(), &net.TCPAddr{IP: net.IPv4zero}, seen)
	return key, nil
}

// Trust adds key for cfg's address and port to cfg's known_hosts file
// (creating it, and its directory, readable by the user only).
func Trust(cfg *Config, key *ScannedKey) error {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key.Line))
	if err != nil {
		return fmt.Errorf("trusting a host key for %s: %w", cfg.label(), err)
	}
	file, err := knownHostsFile(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(cfg.addr())}, pub) + "\n"
	// A last line without its newline would be joined to ours.
	if old, err := os.ReadFile(file); err == nil && len(old) > 0 && old[len(old)-1] != '\n' {
		line = "\n" + line
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
