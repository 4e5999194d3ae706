// Package funcs is the function library of the workflow language: go-cty's
// stdlib, HCL's try and can, hashicorp/go-cty-funcs for encodings, hashes,
// paths and UUIDs, and the few functions written here (env, timestamp,
// templatefile, and file and filebase64, which read through
// limits.ReadRegular).
//
// Functions returns the whole table. dsl uses it to evaluate environment
// values at load time; dsl/lang puts it in every evaluation context.
// funcs imports only dsl/limits from zrun, for bounded file reads.
package funcs
