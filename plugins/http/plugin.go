package http

import "github.com/zrun-dev/zrun/sdk"

// Version is the http plugin's version.
const Version = "0.1.0"

// Plugin returns the http plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "http",
		Version:     Version,
		Description: "Send HTTP requests and wait for services to become healthy.",
		Actions:     []sdk.Action{newRequest(), newCheck()},
	}
}
