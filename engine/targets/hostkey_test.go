package targets_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/engine/targets/sshdtest"
	"github.com/zrun-dev/zrun/sdk"
)

func TestHostKeys(t *testing.T) {
	s := sshdtest.Start(t, nil)
	other := sshdtest.Start(t, &sshdtest.Options{Addr: "127.0.0.2"})
	// A known_hosts line for s's address with other's key: s's key "changed".
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	line, _ := os.ReadFile(other.KnownHostsFile)
	os.WriteFile(wrong, []byte(strings.Replace(string(line), "127.0.0.2", "127.0.0.1", 1)), 0o600)
	if other.Port != s.Port {
		line = []byte(strings.Replace(string(line), itoa(other.Port), itoa(s.Port), 1))
		os.WriteFile(wrong, []byte(strings.Replace(string(line), "127.0.0.2", "127.0.0.1", 1)), 0o600)
	}

	tests := map[string]struct {
		edit    func(*targets.Config)
		changed bool
		want    []string // in the error; none: connects
	}{
		"known_hosts":        {edit: func(c *targets.Config) {}},
		"hashed known_hosts": {edit: func(c *targets.Config) { c.KnownHostsFile = s.HashedKnownHostsFile }},
		"pinned":             {edit: func(c *targets.Config) { c.KnownHostsFile = "/nonexistent"; c.HostKey = s.HostKey }},
		"unknown": {
			edit: func(c *targets.Config) { c.KnownHostsFile = other.KnownHostsFile },
			want: []string{s.HostKeyFingerprint, "is not in " + other.KnownHostsFile, "zrun hosts trust web --env", s.HostKey},
		},
		"no known_hosts file": {
			edit: func(c *targets.Config) { c.KnownHostsFile = filepath.Join(t.TempDir(), "none") },
			want: []string{s.HostKeyFingerprint, "zrun hosts trust web"},
		},
		"changed": {
			edit:    func(c *targets.Config) { c.KnownHostsFile = wrong },
			changed: true,
			want:    []string{"CHANGED", "man-in-the-middle", s.HostKeyFingerprint, other.HostKeyFingerprint, wrong + ":1"},
		},
		"pinned other": {
			edit:    func(c *targets.Config) { c.HostKey = other.HostKey },
			changed: true,
			want:    []string{"CHANGED", s.HostKeyFingerprint, other.HostKeyFingerprint + " (host_key)"},
		},
		"bad pin": {
			edit: func(c *targets.Config) { c.HostKey = "ssh-ed25519 nonsense" },
			want: []string{"host_key", "authorized_keys form"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := config(s)
			tc.edit(cfg)
			pool := targets.NewPool()
			defer pool.Close()
			tg, err := pool.Target(t.Context(), cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}})
				return
			}
			if err == nil {
				t.Fatal("connected")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var hk *targets.HostKeyError
			if tc.changed && (!errors.As(err, &hk) || !hk.Changed) {
				t.Errorf("not a changed-key error: %#v", err)
			}
		})
	}
}

func TestScanTrust(t *testing.T) {
	s := sshdtest.Start(t, nil)
	cfg := config(s)
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "new", "known_hosts")
	pool := targets.NewPool()
	defer pool.Close()
	if _, err := pool.Target(t.Context(), cfg); err == nil {
		t.Fatal("connected to an unknown host")
	}
	key, err := targets.Scan(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if key.Fingerprint != s.HostKeyFingerprint || key.Line != s.HostKey {
		t.Errorf("scanned %+v, want %s", key, s.HostKeyFingerprint)
	}
	var hk *targets.HostKeyError
	if !errors.As(key.Refused, &hk) || hk.Changed {
		t.Errorf("an unknown key scanned: Refused = %v, want an unknown-key error", key.Refused)
	}
	if err := targets.Trust(cfg, key); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg.KnownHostsFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts: %v %v, want mode 0600", fi.Mode(), err)
	}
	if again, err := targets.Scan(t.Context(), cfg); err != nil || again.Refused != nil {
		t.Errorf("scanned after Trust: %+v, %v; want it trusted", again, err)
	}
	res, err := targets.Check(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fingerprint != s.HostKeyFingerprint || !strings.Contains(res.Uname, "Linux") {
		t.Errorf("check: %+v", res)
	}
	if !res.Sudo && res.SudoError == "" {
		t.Errorf("sudo failed without saying why: %+v", res)
	}
}
