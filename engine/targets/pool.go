package targets

import (
	"context"
	"errors"

	"github.com/zrun-dev/zrun/sdk"
)

// Pool holds a run's connections, one per host, opened on first use and
// closed by Close. It is safe for concurrent use.
type Pool struct{}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{} }

// Target returns the host's connection as an sdk.Target, opening it on
// first use. A dropped connection is reopened once, for the next command.
func (p *Pool) Target(ctx context.Context, cfg *Config) (sdk.Target, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): the SSH communicator, in progress
}

// Close closes every connection of the pool.
func (p *Pool) Close() error { return nil }

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
func Check(ctx context.Context, cfg *Config) (*CheckResult, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): the SSH communicator, in progress
}

// ScannedKey is a host key offered by a host, for `zrun hosts trust`.
type ScannedKey struct {
	// Line is the key in authorized_keys form ("ssh-ed25519 AAAA...").
	Line string
	// Fingerprint is its SHA256 fingerprint.
	Fingerprint string
}

// Scan connects to a host without authenticating and returns the key it
// offers (as ssh-keyscan does).
func Scan(ctx context.Context, cfg *Config) (*ScannedKey, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): the SSH communicator, in progress
}

// Trust adds key for cfg's address and port to cfg's known_hosts file.
func Trust(cfg *Config, key *ScannedKey) error {
	return errors.ErrUnsupported // TODO(issue 8): the SSH communicator, in progress
}
