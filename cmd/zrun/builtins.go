package main

import (
	"fmt"
	"os"

	"github.com/zrun-dev/zrun/plugins"
	archiveplugin "github.com/zrun-dev/zrun/plugins/archive"
	dockerplugin "github.com/zrun-dev/zrun/plugins/docker"
	execplugin "github.com/zrun-dev/zrun/plugins/exec"
	httpplugin "github.com/zrun-dev/zrun/plugins/http"
	postgresplugin "github.com/zrun-dev/zrun/plugins/postgres"
	rcloneplugin "github.com/zrun-dev/zrun/plugins/rclone"
	sshplugin "github.com/zrun-dev/zrun/plugins/ssh"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
)

// pluginModeArg starts zrun as one of its builtin plugins: builtins ship
// inside the one binary but run out of process like any other plugin.
const pluginModeArg = plugins.BuiltinArg

// builtins is the table of plugins that ship with zrun.
var builtins = map[string]func() *sdk.Plugin{
	"archive":  archiveplugin.Plugin,
	"docker":   dockerplugin.Plugin,
	"exec":     execplugin.Plugin,
	"http":     httpplugin.Plugin,
	"postgres": postgresplugin.Plugin,
	"rclone":   rcloneplugin.Plugin,
	"ssh":      sshplugin.Plugin,
}

func servePlugin(name string) {
	p, ok := builtins[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "zrun: no builtin plugin %q\n", name)
		os.Exit(exitUsage)
	}
	plugin.Serve(p())
}
