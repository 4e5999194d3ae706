package nginx

import "github.com/zrun-dev/zrun/sdk"

// Version is the nginx plugin's version.
const Version = "0.1.0"

// Plugin returns the nginx plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "nginx",
		Version:     Version,
		Description: "Render nginx sites and upstreams, test and reload nginx, never leaving it on a broken configuration.",
		Actions:     []sdk.Action{newSite(), newUpstream(), newTest(), newReload(), newEnsureRunning()},
	}
}
