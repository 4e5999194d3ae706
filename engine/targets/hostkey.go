package targets

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host key refused: unknown (not in known_hosts, or no
// known_hosts at all), or different from the one known or pinned.
type HostKeyError struct {
	// Host names the host (its name, user, address).
	Host string
	// Name is the host's name in the environment, and Env the
	// environment's ("" says ENV), for the trust command.
	Name, Env string
	// Key is the key the host offered, Fingerprint its SHA256 form.
	Key         string
	Fingerprint string
	// Changed says the host offered a key other than the one(s) known:
	// Known lists those ("SHA256:... (FILE:LINE)" or "host_key").
	Changed bool
	Known   []string
	// KnownHostsFile is the file searched ("" when host_key is pinned).
	KnownHostsFile string

	known []ssh.PublicKey
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("WARNING: the host key of %s has CHANGED, refusing to connect. "+
			"It offers %s, but %s is the key trusted for it. "+
			"Someone may be intercepting the connection (a man-in-the-middle attack), or the host was reinstalled. "+
			"Check the new key with the host's administrator; if it is right, %s",
			e.Host, e.Fingerprint, strings.Join(e.Known, " and "), e.fix())
	}
	where := "is not in " + e.KnownHostsFile
	return fmt.Sprintf("host %s offers host key %s, which %s: if that is the host's key, trust it with `zrun hosts trust %s --env %s`, or pin it in the host block with host_key = %q",
		e.Host, e.Fingerprint, where, e.name(), e.env(), e.Key)
}

func (e *HostKeyError) fix() string {
	if e.KnownHostsFile == "" {
		return fmt.Sprintf("set host_key = %q", e.Key)
	}
	return fmt.Sprintf("remove the old line from %s and run `zrun hosts trust %s --env %s`", e.KnownHostsFile, e.name(), e.env())
}

func (e *HostKeyError) env() string {
	if e.Env == "" {
		return "ENV"
	}
	return e.Env
}

func (e *HostKeyError) name() string {
	if e.Name == "" {
		return "NAME"
	}
	return e.Name
}

// knownHostsFile is where cfg's host keys are checked and trusted.
func knownHostsFile(cfg *Config) (string, error) {
	if cfg.KnownHostsFile != "" {
		return expandHome(cfg.KnownHostsFile), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("host %s: finding ~/.ssh/known_hosts: %w (set known_hosts_file)", cfg.label(), err)
	}
	return filepath.Join(home, ".ssh", "known_hosts"), nil
}

// hostKeyCallback accepts exactly cfg.HostKey when it is set, otherwise
// the keys known_hosts holds for the host. Anything else is a
// *HostKeyError.
func hostKeyCallback(cfg *Config) (ssh.HostKeyCallback, error) {
	if cfg.HostKey != "" {
		return pinnedCallback(cfg)
	}
	file, err := knownHostsFile(cfg)
	if err != nil {
		return nil, err
	}
	db, err := knownhosts.New(file)
	if errors.Is(err, fs.ErrNotExist) {
		// No file trusts nothing: every key is unknown, and the error says
		// how to trust it.
		db = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	} else if err != nil {
		return nil, fmt.Errorf("host %s: reading known_hosts_file: %w", cfg.label(), err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := db(hostname, remote, key)
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &keyErr):
			e := newHostKeyError(cfg, key)
			e.KnownHostsFile = file
			for _, k := range keyErr.Want {
				e.Changed = true
				e.known = append(e.known, k.Key)
				e.Known = append(e.Known, fmt.Sprintf("%s (%s:%d)", ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
			}
			return e
		case errors.As(err, &revoked):
			return fmt.Errorf("host %s offers host key %s, which %s:%d marks @revoked: refusing to connect", cfg.label(), ssh.FingerprintSHA256(key), revoked.Revoked.Filename, revoked.Revoked.Line)
		}
		return err
	}, nil
}

func pinnedCallback(cfg *Config) (ssh.HostKeyCallback, error) {
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(cfg.HostKey))
	if err != nil {
		return nil, fmt.Errorf("host %s: host_key %q is not a public key in authorized_keys form (\"ssh-ed25519 AAAA...\"): %v", cfg.label(), cfg.HostKey, err)
	}
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if key.Type() == want.Type() && string(key.Marshal()) == string(want.Marshal()) {
			return nil
		}
		e := newHostKeyError(cfg, key)
		e.Changed = true
		e.Known = []string{ssh.FingerprintSHA256(want) + " (host_key)"}
		e.known = []ssh.PublicKey{want}
		return e
	}, nil
}

func newHostKeyError(cfg *Config, key ssh.PublicKey) *HostKeyError {
	return &HostKeyError{
		Host:        cfg.label(),
		Name:        cfg.Name,
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
		Fingerprint: ssh.FingerprintSHA256(key),
	}
}

// hostKeyAlgorithms lists the key types trusted for cfg's host, so the
// handshake asks for one of those: a host with an RSA and an ed25519 key,
// of which only the ed25519 one is trusted, must not be refused for
// offering RSA first. Nil when nothing is known (then any type will do,
// and the key is refused as unknown).
func hostKeyAlgorithms(cfg *Config, callback ssh.HostKeyCallback) []string {
	// Asking about a key no host has makes the callback list the known ones.
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	var e *HostKeyError
	if !errors.As(callback(cfg.addr(), &net.TCPAddr{IP: net.IPv4zero}, probe), &e) {
		return nil
	}
	var algos []string
	for _, k := range e.known {
		t := k.Type()
		if t == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		}
		if !slices.Contains(algos, t) {
			algos = append(algos, t)
		}
	}
	return algos
}
