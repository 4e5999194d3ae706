//go:build !linux

package plugins

import "os/exec"

// pluginCommand builds the command of a plugin process. Outside Linux,
// plugins are killed by Manager.Close on every exit path zrun controls.
func pluginCommand(path string, args ...string) *exec.Cmd {
	return exec.Command(path, args...)
}
