package secrets

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/sdk"
)

// fakeVault speaks the part of Vault's HTTP API a KV v2 read uses:
// GET /v1/<mount>/data/<path> with X-Vault-Token (and X-Vault-Namespace),
// answering {"data": {"data": {...}, "metadata": {...}}}, or
// {"errors": [...]} with a 403 or 404. No Vault server exists on the test
// machines (Debian packages none), so this is what the client is tested
// against.
type fakeVault struct {
	token, namespace string
	// secrets maps a path (without /v1/) to the body of its answer.
	secrets map[string]any
	reads   atomic.Int64
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.reads.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fail := func(code int, errs ...string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": append([]string{}, errs...)})
	}
	switch {
	case r.Method != http.MethodGet:
		fail(http.StatusMethodNotAllowed, "unsupported operation")
	case r.Header.Get("X-Vault-Token") != f.token || r.Header.Get("X-Vault-Namespace") != f.namespace:
		fail(http.StatusForbidden, "permission denied")
	default:
		body, ok := f.secrets[strings.TrimPrefix(r.URL.Path, "/v1/")]
		if !ok {
			fail(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}
}

// kv2 is a KV v2 read answer holding data.
func kv2(data map[string]any) map[string]any {
	return map[string]any{
		"request_id": "1", "lease_duration": 0, "renewable": false,
		"data": map[string]any{"data": data, "metadata": map[string]any{"version": 3, "destroyed": false}},
	}
}

func TestResolveVault(t *testing.T) {
	vault := &fakeVault{token: "root-token", secrets: map[string]any{
		"secret/data/zakupai": kv2(map[string]any{"b2_application_key": value, "port": 5432, "nested": map[string]any{"a": "b"}}),
		"secret/data/deleted": map[string]any{"data": map[string]any{"data": nil, "metadata": map[string]any{"deletion_time": "2024-01-01T00:00:00Z"}}},
		"kv1/zakupai":         map[string]any{"data": map[string]any{"b2_application_key": value}},
	}}
	srv := httptest.NewServer(vault)
	defer srv.Close()

	tests := map[string]struct {
		path, key string
		token     string
		namespace string // VAULT_NAMESPACE
		serverNS  string // the namespace the path lives in
		want      string
		wantErr   string
	}{
		"kv2":               {path: "secret/data/zakupai", key: "b2_application_key", want: value},
		"leading slash":     {path: "/secret/data/zakupai", key: "b2_application_key", want: value},
		"number":            {path: "secret/data/zakupai", key: "port", want: "5432"},
		"namespace":         {path: "secret/data/zakupai", key: "b2_application_key", namespace: "team", serverNS: "team", want: value},
		"missing key":       {path: "secret/data/zakupai", key: "nope", wantErr: "Vault secret secret/data/zakupai has no key nope"},
		"not a string":      {path: "secret/data/zakupai", key: "nested", wantErr: "key nested of Vault secret secret/data/zakupai is not a string"},
		"missing path":      {path: "secret/data/nope", key: "k", wantErr: "Vault has no secret at secret/data/nope"},
		"deleted":           {path: "secret/data/deleted", key: "k", wantErr: "is deleted or destroyed"},
		"kv1 path":          {path: "kv1/zakupai", key: "b2_application_key", wantErr: "kv1/zakupai is not a KV v2 secret"},
		"wrong token":       {path: "secret/data/zakupai", key: "b2_application_key", token: "bad", wantErr: "Vault answered 403 for secret/data/zakupai: permission denied"},
		"no token":          {path: "secret/data/zakupai", key: "b2_application_key", token: "-", wantErr: "VAULT_TOKEN is not set"},
		"namespace unknown": {path: "secret/data/zakupai", key: "b2_application_key", namespace: "other", serverNS: "team", wantErr: "Vault answered 403"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("VAULT_ADDR", srv.URL)
			token := tc.token
			switch token {
			case "":
				token = vault.token
			case "-":
				token = ""
			}
			t.Setenv("VAULT_TOKEN", token)
			t.Setenv("VAULT_NAMESPACE", tc.namespace)
			vault.namespace = tc.serverNS
			resolveOne(t, t.TempDir(), secretAt("s", dsl.Secret{Source: dsl.SecretVault, Value: tc.path, Key: tc.key}), tc.want, tc.wantErr)
		})
	}
}

func TestResolveVaultReadsOnce(t *testing.T) {
	vault := &fakeVault{token: "t", secrets: map[string]any{
		"secret/data/zakupai": kv2(map[string]any{"a": "1", "b": "2", "c": "3"}),
	}}
	srv := httptest.NewServer(vault)
	defer srv.Close()
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_TOKEN", "t")
	t.Setenv("VAULT_NAMESPACE", "")
	secrets := map[string]*dsl.Secret{}
	for _, k := range []string{"a", "b", "c"} {
		secrets[k] = secretAt(k, dsl.Secret{Source: dsl.SecretVault, Value: "secret/data/zakupai", Key: k})
	}
	got, diags := Resolve(t.Context(), t.TempDir(), secrets, []string{"a", "b", "c"})
	if diags.HasErrors() || len(got) != 3 || !got["c"].RawEquals(cty.StringVal("3").Mark(sdk.Sensitive)) {
		t.Fatalf("got %v, %s", got, diags)
	}
	if n := vault.reads.Load(); n != 1 {
		t.Errorf("Vault was asked %d times for one secret, want once", n)
	}
}

func TestResolveVaultUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", "t")
	t.Setenv("VAULT_MAX_RETRIES", "0")
	secrets := map[string]*dsl.Secret{"s": secretAt("s", dsl.Secret{Source: dsl.SecretVault, Value: "secret/data/x", Key: "k"})}
	_, diags := Resolve(t.Context(), t.TempDir(), secrets, []string{"s"})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "cannot read secret/data/x from Vault") {
		t.Errorf("diagnostics: %s", diags)
	}
}
