package ufw

import "github.com/zrun-dev/zrun/sdk"

// Version is the ufw plugin's version.
const Version = "0.1.0"

// Plugin returns the ufw plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "ufw",
		Version:     Version,
		Description: "Manage the ufw firewall of the step's target declaratively, with a guard for zrun's SSH connection and a confirmed apply that reverts by itself.",
		Actions:     []sdk.Action{newRules(), newStatus()},
	}
}
