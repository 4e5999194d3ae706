// Package limits bounds what zrun reads from files it does not control:
// ReadRegular is the one read of such a file (a regular file, of bounded
// size; never a FIFO or a device), and the Check functions bound how
// deeply an HCL source nests before it is parsed: hcl's parser and
// evaluator recurse once per level of nesting, so without a bound a
// hostile file is a fatal stack overflow, which no recover catches.
// Every reader and parser of untrusted input uses them. It is a leaf
// (it imports only hcl): dsl, dsl/funcs, engine, engine/secrets and
// plugins may all import it.
package limits
