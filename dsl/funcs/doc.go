// Package funcs is the function library of the workflow language, every
// Terraform built-in that means something outside Terraform, under
// Terraform's names and with its semantics: go-cty's stdlib, HCL's try and
// can, hashicorp/go-cty-funcs (CIDR, hashes, encodings, files, UUIDs),
// zclconf/go-cty-yaml, and what no library has, written here (strings.go,
// collections.go, crypto.go, cidr.go, time.go, sensitive.go, env,
// timestamp, templatefile, templatestring).
//
// Functions returns the whole table, Docs describes it (docs.go: the one
// line per function that README's table and zrun functions show). dsl
// uses the table to evaluate environment values at load time; dsl/lang
// puts it in every evaluation context.
//
// funcs imports from zrun only dsl/limits, for bounded file reads
// (file, filebase64 and the file hashes read through limits.ReadRegular),
// and the sdk's mark constant, sdk.Sensitive, which sensitive() puts on a
// value so that the engine masks it as it masks a secret.
package funcs
