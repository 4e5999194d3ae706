package sdktest

import (
	"context"
	"fmt"
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

func (t *Target) ReadFile(_ context.Context, path string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data, ok := t.Files[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), data...), nil
}

func (t *Target) WriteFile(_ context.Context, path string, data []byte, _ fs.FileMode) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.Files == nil {
		t.Files = map[string][]byte{}
	}
	t.Files[path] = append([]byte(nil), data...)
	return nil
}

// File returns a file's content and whether it exists.
func (t *Target) File(path string) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	data, ok := t.Files[path]
	return data, ok
}

func (t *Target) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if t.DialFunc != nil {
		return t.DialFunc(ctx, network, address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// Interface guards
var _ sdk.Target = (*Target)(nil)
