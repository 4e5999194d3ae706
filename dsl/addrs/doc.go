// Package addrs holds the addresses of the things a workflow can name: plugin
// actions (http.check) and the objects an expression may reference (param.x,
// env.x, secret.x, step.NAME, each.key, run.id).
//
// Every address prints in HCL traversal syntax. ParseRef turns a traversal
// found in an expression into a Reference; it checks only the shape of the
// address. Whether the named param, value or step exists is decided by the
// caller that knows the configuration (dsl for depends_on, the engine for
// expressions), and evaluating a reference is dsl/lang's job.
//
// addrs is a leaf package: it imports nothing from zrun.
package addrs
