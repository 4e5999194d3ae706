// Package secrets reads the values of a project's secret blocks: process
// environment variables, files, dotenv files, the output of commands and
// HashiCorp Vault KV v2 secrets.
//
// Resolve reads the secrets a run uses, concurrently, and returns each
// value as a string marked sdk.Sensitive, so the mark follows it through
// every expression. Every failure is an hcl.Diagnostic at the secret's
// block, and no diagnostic ever holds a value: problems are described
// from the configuration (variable names, paths, keys), the operating
// system's errors, Vault's error messages and the last line a failing
// command wrote to stderr, never from what a source returned. Referenced
// lists the secrets a workflow uses, so a run reads only those.
//
// dsl parses secret blocks and merges them per environment; the engine
// decides when to resolve them and holds the values in its run data;
// masking values in output is the engine's and cmd/zrun's job.
package secrets
