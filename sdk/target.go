package sdk

import (
	"context"
	"io"
	"io/fs"
	"net"
	"time"
)

// Target is the machine a step runs against: the local one by default, or a
// host declared in the environment. The host hands every action a Target
// (a communicator, as Packer's provisioners get one from the builder), so a
// plugin works the same locally and over SSH without transport code of its
// own. All methods honour ctx cancellation; every byte stream is streamed,
// never held whole in memory, whatever its size.
//
// A Target lives for the run, not only for the step that received it: a
// plugin may keep state per target (a Docker client, a database pool) and
// reuse it in the run's later steps on the same host. Name identifies it
// within the run.
type Target interface {
	// Name is "local" or the host's name in the environment.
	Name() string
	// Exec runs a command and waits for it. A command that starts and exits
	// non-zero is not an error: see ExecResult.ExitCode. A command cut off
	// before it ended (a dropped connection) is an error.
	Exec(ctx context.Context, cmd *Command) (*ExecResult, error)

	// Open opens a file for reading. ctx bounds the whole read: once it
	// ends, reads fail.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Create starts writing a file atomically: the bytes go to a temporary
	// file beside path, and Close publishes it (sync, mode and owner set,
	// rename over path, directory synced), so readers see the old content or
	// the new, never a mix. Abort, an error, or the end of ctx discards it
	// and leaves path as it was.
	Create(ctx context.Context, path string, opts *CreateOptions) (FileWriter, error)
	// Stat describes a file without following a final symbolic link.
	// A missing file is an error matching fs.ErrNotExist.
	Stat(ctx context.Context, path string) (*FileInfo, error)
	// ReadDir lists a directory, sorted by name.
	ReadDir(ctx context.Context, path string) ([]*FileInfo, error)
	// MkdirAll creates a directory and its missing parents with perm.
	MkdirAll(ctx context.Context, path string, perm fs.FileMode) error
	// Remove removes a file or an empty directory. A missing path is an
	// error matching fs.ErrNotExist.
	Remove(ctx context.Context, path string) error
	// Rename renames oldpath to newpath, replacing newpath if it is a file.
	Rename(ctx context.Context, oldpath, newpath string) error

	// Dial opens a TCP ("tcp") or unix socket ("unix") connection from the
	// target's point of view. ctx bounds establishing the connection only.
	Dial(ctx context.Context, network, address string) (Conn, error)
}

// Conn is a connection a Target dialled. CloseWrite half-closes it: the
// other end reads end-of-stream while this end can still read (the Docker
// API's attach, exec and image load need this).
type Conn interface {
	net.Conn
	CloseWrite() error
}

// CreateOptions says how Target.Create publishes a file. The zero value
// (or nil) is mode 0644, owned by the connecting user.
type CreateOptions struct {
	// Mode is the file's permission bits, set exactly (no umask); 0 means 0644.
	Mode fs.FileMode
	// Owner and Group, when not "", are a user and group name or a numeric
	// id to chown the file to before it is published (on a remote host this
	// usually needs the host's sudo).
	Owner, Group string
	// NoSync publishes without flushing the file to disk first: still
	// atomic (readers see the old content or the new), but a crash of the
	// machine soon after may lose the new content. For large files that
	// are easy to send again; the default is durable.
	NoSync bool
}

// FileWriter is a file being written by Target.Create.
type FileWriter interface {
	io.Writer
	// Close publishes the file; after an error from Write or Close the file
	// is discarded.
	Close() error
	// Abort discards the file. It is safe after Close (then it does nothing).
	Abort() error
}

// FileInfo describes a file on a target.
type FileInfo struct {
	// Name is the file's base name.
	Name string
	Size int64
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink...) and the
	// permission bits.
	Mode    fs.FileMode
	ModTime time.Time
	// UID and GID are the numeric owner, -1 where the target does not say.
	UID, GID int
}

// IsDir reports whether the file is a directory.
func (fi *FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// Command is a process to run on a target.
type Command struct {
	// Args is the program and its arguments; Args[0] is looked up in PATH.
	Args []string
	// Env adds to (or overrides) the target's environment.
	Env map[string]string
	// Dir is the working directory; "" for the target's default.
	Dir string
	// Sudo runs the command as root through `sudo -n` (no prompt); a host
	// declared with sudo = true runs every command so.
	Sudo bool
	// NewConnection runs the command over a connection opened for it alone
	// and closed after it: a remote target dials, checks the host key and
	// logs in anew, so the command proves that a new login still works
	// (after a firewall change, say). A target that cannot open one fails
	// the command. Locally it changes nothing.
	NewConnection bool
	// Stdin, when not nil, is copied to the process's standard input.
	Stdin io.Reader
	// Stdout and Stderr, when not nil, receive the output as it is written.
	Stdout, Stderr io.Writer
}

// ExecResult is how a command ended.
type ExecResult struct {
	ExitCode int
}
