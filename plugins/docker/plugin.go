package docker

import "github.com/zrun-dev/zrun/sdk"

// Version is the docker plugin's version.
const Version = "0.1.0"

// Plugin returns the docker plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "docker",
		Version:     Version,
		Description: "Images, containers, networks and volumes on the Docker Engine of the step's target.",
		Actions:     actions(),
	}
}

// actions is every action of the plugin, in the order `zrun plugins` shows.
func actions() []sdk.Action {
	return []sdk.Action{newPing(), newBuild(), newTag(), newPush(), newPull(), newSave(), newLoad(), newPrune(),
		newContainer(), newRetire(), newReinstate(), newRollbackAction(), newNetwork(), newVolume(), newExec(), newLogs(), newStop(), newStart(), newRemove()}
}
