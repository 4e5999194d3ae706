package targets

import "time"

// Config is everything needed to reach one host, resolved from its host
// block (and the environments it extends) with secrets filled in.
type Config struct {
	// Name is the host's name in the environment.
	Name string
	// Address is a host name or IP address; Port 0 means 22.
	Address string
	Port    int
	// User is the login user; "" means the local user's name.
	User string
	// Groups names the groups the host belongs to (for listing only).
	Groups []string

	// PrivateKeyFile is a private key to authenticate with ("" for none);
	// Passphrase decrypts it (the value of a secret, never logged).
	PrivateKeyFile string
	Passphrase     string
	// Agent authenticates through the ssh-agent at SSH_AUTH_SOCK as well.
	Agent bool

	// KnownHostsFile is where host keys are checked ("" means
	// ~/.ssh/known_hosts); HostKey, when set, is the one key accepted
	// (an authorized_keys line: "ssh-ed25519 AAAA...").
	KnownHostsFile string
	HostKey        string

	// Jump is the host to connect through (ProxyJump), or nil.
	Jump *Config
	// Sudo runs every command of the host as root through sudo -n.
	Sudo bool

	// ConnectTimeout bounds opening the connection; 0 means 10s.
	ConnectTimeout time.Duration
}
