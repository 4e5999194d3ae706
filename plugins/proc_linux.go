package plugins

import (
	"os/exec"
	"syscall"
)

// pluginCommand builds the command of a plugin process. On Linux the kernel
// kills the plugin if zrun dies, even by SIGKILL, so no plugin process
// outlives the zrun that started it.
func pluginCommand(path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
