package main

import (
	"fmt"
	"os"

	"github.com/zrun-dev/zrun/plugins"
	archiveplugin "github.com/zrun-dev/zrun/plugins/archive"
	dockerplugin "github.com/zrun-dev/zrun/plugins/docker"
	execplugin "github.com/zrun-dev/zrun/plugins/exec"
	httpplugin "github.com/zrun-dev/zrun/plugins/http"
	nginxplugin "github.com/zrun-dev/zrun/plugins/nginx"
	postgresplugin "github.com/zrun-dev/zrun/plugins/postgres"
	sshplugin "github.com/zrun-dev/zrun/plugins/ssh"
	ufwplugin "github.com/zrun-dev/zrun/plugins/ufw"
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
	"nginx":    nginxplugin.Plugin,
	"postgres": postgresplugin.Plugin,
	"rclone":   nil, // served by zrun-rclone: see companions
	"ssh":      sshplugin.Plugin,
	"ufw":      ufwplugin.Plugin,
}

// companions are the builtins served by an executable of their own beside
// zrun: rclone's library (its S3 SDK above all) costs about 30 ms of
// package init, which every zrun process, every other builtin plugin's
// included, would pay if it were linked in (docs/rclone-plugin.md).
var companions = map[string]string{"rclone": "zrun-rclone"}

func servePlugin(name string) {
	p, ok := builtins[name]
	if c, companion := companions[name]; companion {
		fmt.Fprintf(os.Stderr, "zrun: the builtin plugin %s is served by %s, not by zrun itself\n", name, c)
		os.Exit(exitUsage)
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "zrun: no builtin plugin %q\n", name)
		os.Exit(exitUsage)
	}
	plugin.Serve(p())
}
