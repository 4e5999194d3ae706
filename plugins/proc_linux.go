package plugins

import (
	"os/exec"
	"syscall"
)

// pluginCommand builds the command of a plugin process. On Linux the
// kernel sends the plugin SIGTERM if zrun dies, even by SIGKILL: a plugin
// of this SDK then kills every process it started, and exits. (A signal
// it can catch, unlike SIGKILL, which would leave its commands' children
// to init.)
func pluginCommand(path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return cmd
}
