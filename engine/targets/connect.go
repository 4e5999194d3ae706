package targets

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultConnectTimeout bounds opening a connection when the host does not
// say (Config.ConnectTimeout).
const defaultConnectTimeout = 10 * time.Second

// addr is the host's address:port, as ssh and known_hosts name it.
func (c *Config) addr() string {
	port := c.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(c.Address, strconv.Itoa(port))
}

func (c *Config) user() string {
	if c.User != "" {
		return c.User
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func (c *Config) timeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return defaultConnectTimeout
}

// label names the host in messages: its name and where it is.
func (c *Config) label() string {
	if c.Name == "" {
		return c.user() + "@" + c.addr()
	}
	return fmt.Sprintf("%s (%s@%s)", c.Name, c.user(), c.addr())
}

// clientConfig is cfg's ssh settings: how to authenticate and which host
// key to accept. Its closer releases the agent connection, if any, once
// the handshake is over.
func clientConfig(cfg *Config) (*ssh.ClientConfig, func(), error) {
	if cfg.Address == "" {
		return nil, nil, fmt.Errorf("host %q has no address: set address in its host block", cfg.Name)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, nil, fmt.Errorf("host %q: port %d is not a TCP port (1-65535)", cfg.Name, cfg.Port)
	}
	hostKeys, err := hostKeyCallback(cfg)
	if err != nil {
		return nil, nil, err
	}
	auth, closeAgent, err := authMethods(cfg)
	if err != nil {
		return nil, nil, err
	}
	return &ssh.ClientConfig{
		User:              cfg.user(),
		Auth:              auth,
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: hostKeyAlgorithms(cfg, hostKeys),
		Timeout:           cfg.timeout(),
	}, closeAgent, nil
}

// authMethods is the key file's signer, the agent's, or both (key first:
// a key named in the configuration is what the user meant).
func authMethods(cfg *Config) ([]ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	if cfg.PrivateKeyFile != "" {
		s, err := loadKey(cfg)
		if err != nil {
			return nil, nil, err
		}
		signers = append(signers, s)
	}
	closeAgent := func() {}
	var methods []ssh.AuthMethod
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if cfg.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, nil, fmt.Errorf("host %s authenticates through ssh-agent (agent = true), but SSH_AUTH_SOCK is not set: start an agent (eval $(ssh-agent); ssh-add) or set private_key_file", cfg.label())
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, fmt.Errorf("host %s: connecting to ssh-agent at SSH_AUTH_SOCK=%s: %w", cfg.label(), sock, err)
		}
		closeAgent = func() { conn.Close() }
		methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	if len(methods) == 0 {
		return nil, nil, fmt.Errorf("host %s has no way to authenticate: set private_key_file, or agent = true to use ssh-agent", cfg.label())
	}
	return methods, closeAgent, nil
}

// loadKey reads and decrypts the host's private key file. Its errors name
// the file, never the passphrase.
func loadKey(cfg *Config) (ssh.Signer, error) {
	pemBytes, err := os.ReadFile(expandHome(cfg.PrivateKeyFile))
	if err != nil {
		return nil, fmt.Errorf("host %s: reading private_key_file: %w", cfg.label(), err)
	}
	if cfg.Passphrase != "" {
		s, err := ssh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(cfg.Passphrase))
		switch {
		case errors.Is(err, x509.IncorrectPasswordError):
			return nil, fmt.Errorf("host %s: the passphrase does not decrypt private key %s: check the secret it comes from", cfg.label(), cfg.PrivateKeyFile)
		case err == nil:
			return s, nil
		}
		// A key without a passphrase is read as such: the passphrase is
		// only unneeded, not wrong.
		if s, plainErr := ssh.ParsePrivateKey(pemBytes); plainErr == nil {
			return s, nil
		}
		return nil, fmt.Errorf("host %s: private key %s: %w", cfg.label(), cfg.PrivateKeyFile, err)
	}
	s, err := ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("host %s: private key %s is protected by a passphrase: set passphrase = secret.NAME in the host block", cfg.label(), cfg.PrivateKeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: private key %s: %w", cfg.label(), cfg.PrivateKeyFile, err)
	}
	return s, nil
}

// dial opens an authenticated connection to cfg's host, through a jump
// host's client when through is not nil, and returns the host key it
// accepted. ctx bounds it, and so does the host's connect timeout.
func dial(ctx context.Context, cfg *Config, through *ssh.Client) (*ssh.Client, ssh.PublicKey, error) {
	config, closeAgent, err := clientConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	defer closeAgent()
	var accepted ssh.PublicKey
	check := config.HostKeyCallback
	config.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if err := check(hostname, remote, key); err != nil {
			return err
		}
		accepted = key
		return nil
	}
	c, chans, reqs, err := handshake(ctx, cfg, through, config)
	if err != nil {
		return nil, nil, err
	}
	return ssh.NewClient(c, chans, reqs), accepted, nil
}

// handshake connects to cfg's host (through a jump host's client when not
// nil) and runs the SSH handshake with config.
func handshake(ctx context.Context, cfg *Config, through *ssh.Client, config *ssh.ClientConfig) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	var conn net.Conn
	var err error
	if through != nil {
		conn, err = through.DialContext(ctx, "tcp", cfg.addr())
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", cfg.addr())
	}
	if err != nil {
		return nil, nil, nil, connectError(ctx, cfg, err)
	}
	// The handshake has no ctx of its own: closing the conn ends it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, cfg.addr(), config)
	if err != nil {
		conn.Close()
		return nil, nil, nil, handshakeError(ctx, cfg, err)
	}
	return c, chans, reqs, nil
}

func connectError(ctx context.Context, cfg *Config, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("connecting to host %s: %w (connect timeout %s)", cfg.label(), ctx.Err(), cfg.timeout())
	}
	return fmt.Errorf("connecting to host %s: %w", cfg.label(), err)
}

func handshakeError(ctx context.Context, cfg *Config, err error) error {
	var hk *HostKeyError
	if errors.As(err, &hk) {
		return hk
	}
	if ctx.Err() != nil {
		return connectError(ctx, cfg, err)
	}
	return fmt.Errorf("host %s: %w", cfg.label(), err)
}

// expandHome reads a leading "~/" as the user's home directory, as ssh
// does for its files.
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}
