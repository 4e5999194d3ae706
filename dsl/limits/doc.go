// Package limits bounds what zrun reads from files it does not control:
// how large an HCL source may be and how deeply it may nest. hcl's parser
// and evaluator recurse once per level of nesting, so without a bound a
// hostile file is a fatal stack overflow, which no recover catches.
// Every parser of untrusted input calls a Check function first. It is a
// leaf: dsl, dsl/funcs, engine and plugins may all import it.
package limits
