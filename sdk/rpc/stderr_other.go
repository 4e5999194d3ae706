//go:build !linux

package rpc

// CaptureStderr does nothing here: the plugin's stderr goes to the host
// as it is, which attributes its lines by their time.
func CaptureStderr() error { return nil }
