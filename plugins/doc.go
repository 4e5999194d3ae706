// Package plugins finds plugin executables, starts and stops their
// processes, and pins external ones in zrun.lock.hcl.
//
// A Manager hands out one sdk.Client per plugin name, backed by one
// process per plugin for its whole life, started on first use and reused
// by every step. Builtin plugins are zrun itself started in plugin mode
// (`zrun __plugin NAME`), so they obey the rules third parties obey; the
// table of builtins comes from cmd/zrun, so this package imports none of
// them. External plugins are executables named zrun-plugin-<name> (see
// Discover and SearchDirs).
//
// The lock file (lock.go) is the list of external plugins a project may
// run: one it does not pin, whose checksum differs, or whose version
// misses its required_plugins constraint is refused before it starts
// (Manager.verify) and whenever its schema is read, fresh or from the
// answer cache (answers.go, Manager.checkSchema). Lock renews the file
// and is never refused by it. Everything this package reads from disk is
// read as a regular file of bounded size (readfile.go).
//
// What a plugin logs on its stderr is parsed here (logs.go), not by
// go-plugin: a line goes to the sdk.UI of the one step of the plugin that
// runs, so the engine masks and records it, or else to Options.Logger.
//
// Every wait on a plugin process is bounded (process.go): a call whose
// ctx ended leaves the plugin a second to show it still answers, Close a
// second to exit after SIGTERM; past that the process is killed, and what
// it started is killed by zrun, its child subreaper (sdk/local).
//
// The wire is sdk/rpc's; what a plugin offers is its schema (sdk/schema).
// Rendering warnings and errors is cmd/zrun's job: nothing here prints.
package plugins
