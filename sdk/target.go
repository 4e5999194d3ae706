package sdk

import (
	"context"
	"io"
	"io/fs"
	"net"
)

// Target is the machine a step runs against: the local one by default, or a
// host declared in the environment. The host hands every action a Target
// (a communicator, as Packer's provisioners get one from the builder), so a
// plugin works the same locally and over SSH without transport code of its
// own. All methods honour ctx cancellation.
type Target interface {
	// Name is "local" or the host's name in the environment.
	Name() string
	// Exec runs a command and waits for it. A command that starts and exits
	// non-zero is not an error: see ExecResult.ExitCode.
	Exec(ctx context.Context, cmd *Command) (*ExecResult, error)
	// ReadFile returns a file's content.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile replaces a file atomically: readers see the old content or
	// the new, never a mix.
	WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error
	// Dial opens a TCP ("tcp") or unix socket ("unix") connection from the
	// target's point of view.
	Dial(ctx context.Context, network, address string) (net.Conn, error)
}

// Command is a process to run on a target.
type Command struct {
	// Args is the program and its arguments; Args[0] is looked up in PATH.
	Args []string
	// Env adds to (or overrides) the target's environment.
	Env map[string]string
	// Dir is the working directory; "" for the target's default.
	Dir string
	// Stdin, when not nil, is copied to the process's standard input.
	Stdin io.Reader
	// Stdout and Stderr, when not nil, receive the output as it is written.
	Stdout, Stderr io.Writer
}

// ExecResult is how a command ended.
type ExecResult struct {
	ExitCode int
}
