// Package lang evaluates the expressions of a workflow: it finds the
// references in an expression or a step body (ReferencesInExpr,
// ReferencesInBody), builds an hcl.EvalContext holding only the objects
// those references name, and evaluates.
//
// The values come from a Data, which the engine implements over its run
// state; lang never decides what a param, environment value or step output
// is. Functions come from dsl/funcs, wrapped so that the error of a call
// on a marked value never quotes it (sensitive.go). Marks on values (cty
// marks, used for sensitive values) pass through evaluation untouched.
//
// lang imports dsl/addrs and dsl/funcs only.
package lang
