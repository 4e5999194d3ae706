package secrets

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/sdk"
)

// maxSize caps a secret read from a file or a command's output; a secret
// is a password or a key, not a payload.
const maxSize = 1 << 20

// Resolve reads the secrets named in names from secrets (an environment's
// merged dsl.Environment.Secrets), concurrently, and returns their values
// by name, each a cty.String marked sdk.Sensitive. Relative paths are
// relative to dir, the project folder, where commands also run. A secret
// that cannot be read, or reads as empty, is left out of the result and
// reported as an error diagnostic at its block; diagnostics come in the
// order of names. A dotenv file or a Vault secret that several secrets
// read is read once. Cancelling ctx stops running commands and Vault
// requests.
func Resolve(ctx context.Context, dir string, secrets map[string]*dsl.Secret, names []string) (map[string]cty.Value, hcl.Diagnostics) {
	r := &resolver{dir: dir, dotenvs: newMemo[string](), vaults: newMemo[any]()}
	values := make([]string, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		s, ok := secrets[name]
		if !ok {
			errs[i] = fmt.Errorf("there is no secret %q in the selected environment", name)
			continue
		}
		wg.Go(func() { values[i], errs[i] = r.read(ctx, s) })
	}
	wg.Wait()

	out := make(map[string]cty.Value, len(names))
	var diags hcl.Diagnostics
	for i, name := range names {
		if errs[i] == nil {
			out[name] = cty.StringVal(values[i]).Mark(sdk.Sensitive)
			continue
		}
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Secret not available",
			Detail:   fmt.Sprintf("Secret %q cannot be read: %s.", name, strings.TrimRight(errs[i].Error(), ".")),
		}
		if s, ok := secrets[name]; ok {
			d.Subject = s.DeclRange.Ptr()
		}
		if h, ok := errs[i].(*problem); ok && h.hint != "" {
			d.Detail += " " + h.hint
		}
		diags = append(diags, d)
	}
	return out, diags
}

// resolver reads the secrets of one Resolve call.
type resolver struct {
	dir     string
	dotenvs *memo[string] // dotenv files by path
	vaults  *memo[any]    // Vault secrets' data by path

	vaultOnce   sync.Once
	vaultClient vaultReader
	vaultErr    error
}

// read returns the value of one secret. Its errors never hold the value.
func (r *resolver) read(ctx context.Context, s *dsl.Secret) (string, error) {
	var val string
	var err error
	switch s.Source {
	case dsl.SecretEnv:
		val, err = readEnv(s.Value)
	case dsl.SecretFile:
		val, err = readFile(r.path(s.Value))
	case dsl.SecretDotenv:
		val, err = r.readDotenv(s.Value, s.Key)
	case dsl.SecretCommand:
		val, err = runCommand(ctx, r.dir, s.Command)
	case dsl.SecretVault:
		val, err = r.readVault(ctx, s.Value, s.Key)
	default:
		err = fmt.Errorf("it has no valid source")
	}
	if err == nil && val == "" {
		err = &problem{msg: s.String() + " is empty", hint: "A secret is never empty: set a value at its source."}
	}
	return val, err
}

// problem is why a secret cannot be read, with a sentence that says how
// to fix it.
type problem struct {
	msg  string
	hint string
}

func (p *problem) Error() string { return p.msg }

// memo reads each key once, however many goroutines ask for it.
type memo[V any] struct {
	mu      sync.Mutex
	entries map[string]*memoEntry[V]
}

type memoEntry[V any] struct {
	once sync.Once
	vals map[string]V
	err  error
}

func newMemo[V any]() *memo[V] { return &memo[V]{entries: map[string]*memoEntry[V]{}} }

// get returns what load returned for key the first time it was asked.
func (m *memo[V]) get(key string, load func() (map[string]V, error)) (map[string]V, error) {
	m.mu.Lock()
	e, ok := m.entries[key]
	if !ok {
		e = &memoEntry[V]{}
		m.entries[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.vals, e.err = load() })
	return e.vals, e.err
}
