package sdktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sync"

	"github.com/zrun-dev/zrun/sdk"
)

// Target is an in-memory sdk.Target: files live in a map, commands are Go
// functions, and Dial reaches the real network unless DialFunc says
// otherwise. Set the fields before the action runs; read them through the
// methods, which are safe while it runs.
type Target struct {
	// TargetName is what Name returns; "" means "local".
	TargetName string
	// Files holds the files by path.
	Files map[string][]byte
	// Commands are run by Exec, looked up by Args[0]. A command writes to
	// cmd.Stdout/cmd.Stderr (which may be nil), reads cmd.Stdin, and
	// returns its exit code.
	Commands map[string]func(ctx context.Context, cmd *sdk.Command) (int, error)
	// DialFunc, when set, replaces net.Dialer.
	DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

	mu    sync.Mutex
	execs [][]string
}

func (t *Target) Name() string {
	if t.TargetName == "" {
		return "local"
	}
	return t.TargetName
}

// Exec runs the Go function registered for cmd.Args[0].
func (t *Target) Exec(ctx context.Context, cmd *sdk.Command) (*sdk.ExecResult, error) {
	t.mu.Lock()
	t.execs = append(t.execs, append([]string(nil), cmd.Args...))
	var fn func(context.Context, *sdk.Command) (int, error)
	if len(cmd.Args) > 0 {
		fn = t.Commands[cmd.Args[0]]
	}
	t.mu.Unlock()
	if fn == nil {
		return nil, fmt.Errorf("sdktest.Target: no command registered for %q", cmd.Args)
	}
	code, err := fn(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return &sdk.ExecResult{ExitCode: code}, nil
}

// Execs returns the argument lists of every Exec call so far.
func (t *Target) Execs() [][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([][]string(nil), t.execs...)
}

func (t *Target) Open(_ context.Context, path string) (io.ReadCloser, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

func (t *Target) Create(_ context.Context, path string, _ *sdk.CreateOptions) (sdk.FileWriter, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

func (t *Target) Stat(_ context.Context, path string) (*sdk.FileInfo, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

func (t *Target) ReadDir(_ context.Context, path string) ([]*sdk.FileInfo, error) {
	return nil, errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

func (t *Target) MkdirAll(_ context.Context, path string, _ fs.FileMode) error {
	return errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

func (t *Target) Remove(_ context.Context, path string) error {
	return errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

func (t *Target) Rename(_ context.Context, oldpath, newpath string) error {
	return errors.ErrUnsupported // TODO(issue 8): streaming file API, in progress
}

// File returns a file's content and whether it exists.
func (t *Target) File(path string) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data, ok := t.Files[path]
	return data, ok
}

func (t *Target) Dial(ctx context.Context, network, address string) (sdk.Conn, error) {
	var c net.Conn
	var err error
	if t.DialFunc != nil {
		c, err = t.DialFunc(ctx, network, address)
	} else {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
	}
	if err != nil {
		return nil, err
	}
	conn, ok := c.(sdk.Conn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("sdktest.Target: the connection to %s cannot half-close", address)
	}
	return conn, nil
}

// Interface guards
var _ sdk.Target = (*Target)(nil)
