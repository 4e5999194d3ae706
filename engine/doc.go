// Package engine validates, plans and runs workflows.
//
// It takes the parsed configuration from dsl, fetches each plugin's schema
// once through a Plugins factory, checks every step body against its
// action's schema before anything runs (Validate), builds a DAG of steps
// from references and depends_on (graph.go, transform_*.go), and walks it
// with a parallelism cap (Run), evaluating each step's body in a dsl/lang
// scope backed by the run's state. It reports progress only as events to
// an events.Sink and problems only as hcl.Diagnostics: it never prints.
//
// Package engine/dag owns the generic graph and walker; dsl/lang owns
// evaluation; plugins owns processes; cmd/zrun renders.
package engine
