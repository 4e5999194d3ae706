package rclone

import "github.com/zrun-dev/zrun/sdk"

// Version is the rclone plugin's version.
const Version = "0.1.0"

// Plugin returns the rclone plugin.
func Plugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "rclone",
		Version:     Version,
		Description: "Upload, download, check, list and expire objects on rclone remotes (local, sftp, s3, b2, crypt).",
		Actions: []sdk.Action{newUpload(), newDownload(), newHash(), newWrite(), newRead(),
			newList(), newDelete(), newRetention()},
	}
}
