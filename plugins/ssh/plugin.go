package ssh

import "github.com/zrun-dev/zrun/sdk"

// Version is the ssh plugin's version.
const Version = "0.1.0"

// Plugin returns the ssh plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "ssh",
		Version:     Version,
		Description: "Run commands and move files on the step's target host.",
		Actions:     []sdk.Action{newRun(), newUpload(), newDownload(), newTemplate()},
	}
}
