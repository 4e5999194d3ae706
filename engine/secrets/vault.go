package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	vault "github.com/hashicorp/vault/api"
)

// vaultReader is the part of the Vault client Resolve uses.
type vaultReader interface {
	ReadWithContext(ctx context.Context, path string) (*vault.Secret, error)
}

// vault returns a Vault client configured from the process environment:
// VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE and the TLS variables the
// Vault CLI reads. It is made once per Resolve call.
func (r *resolver) vault() (vaultReader, error) {
	r.vaultOnce.Do(func() {
		cfg := vault.DefaultConfig()
		if cfg.Error != nil {
			r.vaultErr = fmt.Errorf("the Vault settings in the environment are invalid: %w", cfg.Error)
			return
		}
		client, err := vault.NewClient(cfg)
		if err != nil {
			r.vaultErr = fmt.Errorf("cannot make a Vault client: %w", err)
			return
		}
		if client.Token() == "" {
			r.vaultErr = &problem{msg: vault.EnvVaultToken + " is not set",
				hint: "Export VAULT_ADDR and VAULT_TOKEN (and VAULT_NAMESPACE if you use one) in the shell that runs zrun."}
			return
		}
		r.vaultClient = client.Logical()
	})
	return r.vaultClient, r.vaultErr
}

// readVault returns key from the KV v2 secret at path (data.data.KEY in
// Vault's answer).
func (r *resolver) readVault(ctx context.Context, path, key string) (string, error) {
	client, err := r.vault()
	if err != nil {
		return "", err
	}
	path = strings.Trim(path, "/")
	data, err := r.vaults.get(path, func() (map[string]any, error) { return readKV2(ctx, client, path) })
	if err != nil {
		return "", err
	}
	raw, ok := data[key]
	if !ok {
		return "", &problem{msg: fmt.Sprintf("Vault secret %s has no key %s", path, key)}
	}
	switch v := raw.(type) {
	case string:
		return v, nil
	case json.Number, float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", &problem{msg: fmt.Sprintf("key %s of Vault secret %s is not a string", key, path),
		hint: "A secret is a single string; store structured values as separate keys."}
}

// readKV2 reads a KV v2 secret and returns its key-value data.
func readKV2(ctx context.Context, client vaultReader, path string) (map[string]any, error) {
	secret, err := client.ReadWithContext(ctx, path)
	var respErr *vault.ResponseError
	switch {
	case errors.As(err, &respErr):
		return nil, &problem{msg: fmt.Sprintf("Vault answered %d for %s: %s", respErr.StatusCode, path, strings.Join(respErr.Errors, "; ")),
			hint: "Check the path and that VAULT_TOKEN may read it."}
	case err != nil:
		return nil, &problem{msg: fmt.Sprintf("cannot read %s from Vault: %s", path, err), hint: "Check VAULT_ADDR."}
	case secret == nil || secret.Data == nil:
		return nil, &problem{msg: fmt.Sprintf("Vault has no secret at %s", path),
			hint: "A KV v2 path has data/ after the mount: secret/data/zakupai for the secret zakupai of the mount secret."}
	}
	inner, hasData := secret.Data["data"]
	data, ok := inner.(map[string]any)
	switch {
	case !hasData:
		return nil, &problem{msg: fmt.Sprintf("%s is not a KV v2 secret (Vault's answer has no data.data)", path),
			hint: "A KV v2 path has data/ after the mount: secret/data/zakupai for the secret zakupai of the mount secret."}
	case !ok:
		return nil, &problem{msg: fmt.Sprintf("the latest version of Vault secret %s is deleted or destroyed", path)}
	}
	return data, nil
}
