package docker

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

// registryAuth is the auth argument of docker.push and docker.pull: the
// user the engine logs in to the reference's registry as.
type registryAuth struct {
	Username string `cty:"username"`
	Password string `cty:"password"`
}

// authHelp is how the auth argument is written, for help and messages.
const authHelp = `auth = { username = "ci", password = secret.registry_password }`

// header is the X-Registry-Auth value that gives the engine these
// credentials for host ("" without auth: the engine then tries the
// registry anonymously).
func (a *registryAuth) header(host string) (string, error) {
	if a == nil {
		return "", nil
	}
	h, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: host})
	if err != nil {
		return "", fmt.Errorf("encoding the registry credentials for %s: %w", host, err) // never the credentials themselves
	}
	return h, nil
}

// login has the engine log in to host as the user (what docker login
// does), when there is one: a registry that refuses the user fails the
// step at once, where a push would retry each refused layer for most of
// a minute first.
func (a *registryAuth) login(ctx context.Context, c *client.Client, image, host, target string) error {
	if a == nil {
		return nil
	}
	_, err := c.RegistryLogin(ctx, registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: host})
	// Engines since 25.0 answer a refused login 401; 20.10 answers 500,
	// and its message is then all there is to go by.
	if cerrdefs.IsUnauthorized(err) {
		return fmt.Errorf("%s: the registry %s refused the user %q (logging in from the engine on %s): check auth's username and the secret its password comes from (%s)",
			image, host, a.Username, target, authHelp)
	}
	if err != nil {
		return registryFailed("logging in to "+host+" for", image, host, target, a, err)
	}
	return nil
}

// redact replaces the password in s, should an engine or a registry
// repeat it in a message: it must never reach a log or an error.
func (a *registryAuth) redact(s string) string {
	if a == nil || a.Password == "" {
		return s
	}
	return strings.ReplaceAll(s, a.Password, "(password)")
}

// redactingWriter passes each write on with the password replaced; the
// engine's messages are written one whole message at a time.
type redactingWriter struct {
	w    io.Writer
	auth *registryAuth
}

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.auth.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// hasRegistryHost reports whether s names its registry (HOST[:PORT]/...
// or localhost/...), by the rule Docker itself splits a name with: a
// first component with a dot or a colon, or "localhost".
func hasRegistryHost(s string) bool {
	first, _, ok := strings.Cut(s, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}

// digestIn is the digest (sha256:...) an image's RepoDigests
// ("HOST/REPO@sha256:...") give it in repository repo (its full name,
// "docker.io/zakupai/app"), or in any repository when repo is "": the
// first in order, for a repository with several. "" when there is none
// (an image built or loaded here, never pushed or pulled).
func digestIn(repoDigests []string, repo string) string {
	sorted := append([]string(nil), repoDigests...)
	sort.Strings(sorted)
	for _, rd := range sorted {
		named, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		if d, ok := named.(reference.Digested); ok && (repo == "" || named.Name() == repo) {
			return d.Digest().String()
		}
	}
	return ""
}

// imageDigest is the digest of the image id (on the engine) in the
// repository of the reference prefer, else in any repository: the
// image_digest of a container of it.
func imageDigest(ctx context.Context, c *client.Client, id, prefer string) (string, error) {
	ins, err := c.ImageInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("looking up image %s: %w", shortImageID(id), err)
	}
	if named, err := reference.ParseNormalizedNamed(prefer); err == nil {
		if d := digestIn(ins.RepoDigests, named.Name()); d != "" {
			return d, nil
		}
	}
	return digestIn(ins.RepoDigests, ""), nil
}

// layerProgress follows the progress bars of a push's or a pull's layers
// and tells the operator the sum of them at most every progressInterval.
type layerProgress struct {
	ui   sdk.UI
	what string

	mu      sync.Mutex
	current map[string]int64 // layer ID to bytes moved
	total   map[string]int64
	last    time.Time
}

func newLayerProgress(ui sdk.UI, what string) *layerProgress {
	return &layerProgress{ui: ui, what: what, current: map[string]int64{}, total: map[string]int64{}, last: time.Now()}
}

// update takes in a message; a layer's bar counts only while the message
// carries one.
func (p *layerProgress) update(m *engineMessage) {
	if m.ID == "" || m.ProgressDetail.Current == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current[m.ID] = m.ProgressDetail.Current
	if m.ProgressDetail.Total > 0 {
		p.total[m.ID] = m.ProgressDetail.Total
	}
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		var cur, total int64
		for id, n := range p.current {
			cur += n
			total += p.total[id]
		}
		p.ui.Progress(cur, total, p.what)
	}
}

// moved is the bytes the layer's bar last showed.
func (p *layerProgress) moved(id string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current[id]
}

// registryFailed is the error of a push or a pull the engine or the
// registry refused: what failed, where, and what to check.
func registryFailed(verb, image, host, target string, auth *registryAuth, err error) error {
	who := "anonymously (no auth)"
	if auth != nil {
		who = fmt.Sprintf("as %q", auth.Username)
	}
	return fmt.Errorf("%s %s: the registry %s or the engine on %s refused it: %s. "+
		"Check that the registry answers at %s from %s (a registry on plain HTTP other than 127.0.0.0/8 must be among the engine's insecure-registries), "+
		"and that it lets the user the engine logs in %s do that (%s)",
		verb, image, host, target, auth.redact(err.Error()), host, target, who, authHelp)
}
