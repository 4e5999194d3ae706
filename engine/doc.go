// Package engine validates, plans and runs workflows.
//
// It takes the parsed configuration from dsl and fetches each plugin's
// schema once through a Plugins factory (runner.go). Validate checks every
// step body against its action's schema before anything runs
// (validate.go, bind.go, eval.go); Plan says what a run would do
// (plan.go); Run builds a DAG of steps from references and depends_on
// (graph.go) and walks it with a parallelism cap:
//
//	run.go        a run from request to result: workflow, environment,
//	              params, secrets, lock, ledger
//	execution.go  one run's shared state; a workflow's main, on_failure and
//	              finally phases, each a walk of its graph
//	instance.go   one step instance: condition, arguments, retries, called
//	              workflows
//	attempt.go    one call of a plugin's action, and how its failures read
//	rundata.go    the lang.Data a step's expressions see while a run goes on
//	mask.go       the run's secrets, masked in everything a step reports
//	display.go    values as plain data for events and output
//	ledger.go     recording a run through a state.Store; lock.go its locks;
//	              resume.go continuing a recorded run
//
// It reports progress only as events to an events.Sink and problems only
// as hcl.Diagnostics: it never prints.
//
// Package engine/dag owns the generic graph and walker; dsl/lang owns
// evaluation; plugins owns processes; cmd/zrun renders.
package engine
