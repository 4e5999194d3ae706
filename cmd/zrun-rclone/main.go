// Command zrun-rclone is zrun's builtin rclone plugin in an executable of
// its own, installed beside zrun: zrun starts it as `zrun-rclone __plugin
// rclone`, as it starts itself for its other builtins. rclone's libraries
// stay out of the zrun binary, so that no other zrun process pays their
// start-up (docs/rclone-plugin.md, "Cost").
package main

import (
	"fmt"
	"os"

	"github.com/zrun-dev/zrun/plugins"
	rcloneplugin "github.com/zrun-dev/zrun/plugins/rclone"
	"github.com/zrun-dev/zrun/sdk/plugin"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != plugins.BuiltinArg || os.Args[2] != "rclone" {
		fmt.Fprintln(os.Stderr, "zrun-rclone is the rclone plugin of zrun, which starts it; run zrun instead.")
		os.Exit(2)
	}
	plugin.Serve(rcloneplugin.Plugin())
}
