package exec

import "github.com/zrun-dev/zrun/sdk"

// Version is the exec plugin's version.
const Version = "0.1.0"

// Plugin returns the exec plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "exec",
		Version:     Version,
		Description: "Run commands on the step's target.",
		Actions:     []sdk.Action{newRun()},
	}
}
