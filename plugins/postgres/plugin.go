package postgres

import "github.com/zrun-dev/zrun/sdk"

// Version is the postgres plugin's version.
const Version = "0.1.0"

// Plugin returns the postgres plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "postgres",
		Version:     Version,
		Description: "Query, administer, dump, restore and migrate PostgreSQL databases, reached from the step's target.",
		Actions:     actions(),
	}
}

// actions is every action of the plugin, in the order `zrun plugins` shows.
func actions() []sdk.Action {
	return []sdk.Action{newReady(), newQuery(), newExec(), newCreateDatabase(), newDropDatabase(),
		newRenameDatabase(), newTerminate(), newInfo(), newDump(), newRestore(), newMigrate()}
}
