package archive

import "github.com/zrun-dev/zrun/sdk"

// Version is the archive plugin's version.
const Version = "0.1.0"

// Plugin returns the archive plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "archive",
		Version:     Version,
		Description: "Compress (zstd, gzip) and encrypt (age) a stream between two steps, and check and undo it.",
		Actions:     []sdk.Action{newPack(), newUnpack()},
	}
}
