package dsl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSecrets(t *testing.T) {
	src := `
secret "db_password" {
  env = "ZAKUPAI_DB_PASSWORD"
}
secret "token" {
  file = "secrets/token"
}
environment "base" {
  secret "tg" {
    dotenv = ".env.base"
    key    = "TELEGRAM_BOT_TOKEN"
  }
  secret "token" {
    vault = "secret/data/base"
    key   = "token"
  }
}
environment "prod" {
  extends = "base"
  secret "tg" {
    dotenv = ".env.prod"
    key    = upper("telegram_bot_token")
  }
  secret "openai" {
    command = ["pass", "show", "zakupai/${"openai"}"]
  }
}
environment "plain" {}
`
	cfg, diags := NewParser().LoadFile("secrets.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dbPassword := &Secret{Name: "db_password", Source: SecretEnv, Value: "ZAKUPAI_DB_PASSWORD"}
	projectToken := &Secret{Name: "token", Source: SecretFile, Value: "secrets/token"}
	baseToken := &Secret{Name: "token", Source: SecretVault, Value: "secret/data/base", Key: "token"}
	tests := map[string]struct {
		got  map[string]*Secret
		want map[string]*Secret
	}{
		"project": {got: cfg.Secrets, want: map[string]*Secret{"db_password": dbPassword, "token": projectToken}},
		"environment without secrets has the project's": {
			got:  cfg.Environments["plain"].Secrets(),
			want: map[string]*Secret{"db_password": dbPassword, "token": projectToken},
		},
		"environment overrides the project": {
			got: cfg.Environments["base"].Secrets(),
			want: map[string]*Secret{
				"db_password": dbPassword,
				"token":       baseToken,
				"tg":          {Name: "tg", Source: SecretDotenv, Value: ".env.base", Key: "TELEGRAM_BOT_TOKEN"},
			},
		},
		"nearest environment wins": {
			got: cfg.Environments["prod"].Secrets(),
			want: map[string]*Secret{
				"db_password": dbPassword,
				"token":       baseToken,
				"tg":          {Name: "tg", Source: SecretDotenv, Value: ".env.prod", Key: "TELEGRAM_BOT_TOKEN"},
				"openai":      {Name: "openai", Source: SecretCommand, Command: []string{"pass", "show", "zakupai/openai"}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got, cmpopts.IgnoreFields(Secret{}, "DeclRange")); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
			for name, s := range tc.got {
				if s.DeclRange.Filename != "secrets.hcl" || s.DeclRange.Start.Line == 0 {
					t.Errorf("secret %s declared at %v", name, s.DeclRange)
				}
			}
		})
	}
}

func TestSecretString(t *testing.T) {
	tests := map[string]struct {
		secret Secret
		want   string
	}{
		"env":     {Secret{Source: SecretEnv, Value: "DB"}, "environment variable DB"},
		"file":    {Secret{Source: SecretFile, Value: "/run/secrets/k"}, "file /run/secrets/k"},
		"dotenv":  {Secret{Source: SecretDotenv, Value: ".env.prod", Key: "K"}, "key K of dotenv file .env.prod"},
		"command": {Secret{Source: SecretCommand, Command: []string{"pass", "show", "x"}}, `the output of command ["pass" "show" "x"]`},
		"vault":   {Secret{Source: SecretVault, Value: "secret/data/z", Key: "k"}, "key k of Vault secret secret/data/z"},
		"none":    {Secret{}, "no source"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.secret.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
