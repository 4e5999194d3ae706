package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

// BuiltinArg is the hidden subcommand that starts zrun as a builtin
// plugin: `zrun __plugin NAME` must call plugin.Serve with that builtin.
const BuiltinArg = "__plugin"

// Options configure a Manager.
type Options struct {
	// Builtins are the plugins compiled into zrun, by name. They run out
	// of process as `SelfExe __plugin NAME`; only the names matter here.
	// A builtin wins over an external plugin of the same name.
	Builtins map[string]func() *sdk.Plugin
	// SelfExe is the path of the zrun binary.
	SelfExe string
	// Companions are the builtins served by an executable of their own
	// installed beside zrun, by name (rclone: zrun-rclone), run as
	// `EXE __plugin NAME`: a builtin whose libraries would cost every zrun
	// process their start-up lives there. They are builtins all the same
	// (trusted with zrun, never in the lock file).
	Companions map[string]string
	// SearchDirs are searched for external plugins, in order (SearchDirs).
	SearchDirs []string
	// Lock pins the external plugins: one missing from it, whose checksum
	// differs or whose locked version does not meet Required is refused.
	// nil is a project without a lock file, where no external plugin may
	// start until `zrun plugins lock` records it (Lock itself excepted).
	Lock *LockFile
	// Required are the version constraints of zrun.hcl's required_plugins,
	// by plugin name, checked against the lock file and against the
	// version each plugin reports, on every start of zrun.
	Required map[string]string
	// Unlocked starts external plugins without the lock file: for tests
	// and benchmarks of plugins built on the spot. zrun never sets it.
	Unlocked bool
	// Logger receives go-plugin's logs and, at or above its level, the
	// lines the plugins log (hclog JSON on their stderr) that belong to no
	// single running step; a step's lines go to its sdk.UI (see
	// pluginLog). nil discards them.
	Logger hclog.Logger
	// Stderr receives the plugins' raw stderr; nil discards it.
	Stderr io.Writer
	// CacheDir, when set, keeps the plugins' schemas and validations of
	// arguments there, by executable identity, and plugin processes start
	// only when a call needs them (see answers). "" starts each plugin on
	// its first Client call and caches nothing.
	CacheDir string
}

// Manager starts plugin processes on first use and keeps one per plugin
// until Close. Safe for concurrent use.
type Manager struct {
	opts Options

	discover sync.Once
	found    map[string]Found
	warnings []string
	mu       sync.Mutex
	closed   bool
	clients  map[string]*pluginClient
	starts   map[string]int
}

// NewManager returns a Manager; nothing starts until Client is called.
func NewManager(opts Options) *Manager {
	rpc.PrepareTLS()
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	return &Manager{opts: opts, clients: map[string]*pluginClient{}, starts: map[string]int{}}
}

// Client returns the client of the named plugin, starting its process if
// it is not running (on first use, or after it crashed). Concurrent first
// calls start it once. The client stays valid until Close.
func (m *Manager) Client(ctx context.Context, name string) (sdk.Client, error) {
	pc, err := m.client(ctx, name, true)
	if err != nil {
		return nil, err // not a nil *pluginClient in a non-nil sdk.Client
	}
	return pc, nil
}

func (m *Manager) client(ctx context.Context, name string, verify bool) (*pluginClient, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errors.New("plugins: the manager is closed")
	}
	pc, ok := m.clients[name]
	if !ok {
		var err error
		if pc, err = m.newClient(name); err != nil {
			m.mu.Unlock()
			return nil, err
		}
		m.clients[name] = pc
	}
	m.mu.Unlock()
	if m.opts.CacheDir != "" {
		return pc, nil // started by the first call its answers cannot serve
	}
	if err := pc.ensure(ctx, verify); err != nil {
		return nil, err
	}
	return pc, nil
}

func (m *Manager) newClient(name string) (*pluginClient, error) {
	if _, ok := m.opts.Builtins[name]; ok {
		if m.opts.SelfExe == "" {
			return nil, fmt.Errorf("plugins: cannot start builtin plugin %q: the path of zrun itself is unknown", name)
		}
		exe := m.opts.SelfExe
		if c, ok := m.opts.Companions[name]; ok {
			exe = filepath.Join(filepath.Dir(m.opts.SelfExe), c)
			if fi, err := os.Stat(exe); err != nil || !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("plugins: builtin plugin %q is served by %s, which is not installed beside zrun (%s): build it with `make build`, or `go build -o %s ./cmd/%s`",
					name, c, exe, exe, c)
			}
		}
		return &pluginClient{m: m, name: name, path: exe, args: []string{BuiltinArg, name}, builtin: true, log: newPluginLog(name, m.opts.Logger)}, nil
	}
	f, ok := m.externalsByName()[name]
	if !ok {
		return nil, fmt.Errorf("%w %q; the plugins are %s. An external plugin is an executable named %s%s in one of: %s",
			sdk.ErrUnknownPlugin, name, strings.Join(m.Names(), ", "), ExecutablePrefix, name, strings.Join(m.opts.SearchDirs, ", "))
	}
	return &pluginClient{m: m, name: name, path: f.Path, log: newPluginLog(name, m.opts.Logger)}, nil
}

func (m *Manager) countStart(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starts[name]++
}

// Close ends every plugin process and makes later Client calls fail. It
// returns within a few seconds whatever the plugins do: each one is told
// to stop (SIGTERM), killed (SIGKILL) if it has not exited a second
// later, and what it left behind is killed too.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	clients := make([]*pluginClient, 0, len(m.clients))
	for _, pc := range m.clients {
		clients = append(clients, pc)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, pc := range clients {
		wg.Go(pc.stop)
	}
	wg.Wait()
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Starts counts the processes started, by plugin name.
func (m *Manager) Starts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.starts))
	for k, v := range m.starts {
		out[k] = v
	}
	return out
}

// Names lists every plugin, builtins and externals, sorted.
func (m *Manager) Names() []string {
	seen := map[string]bool{}
	for n := range m.opts.Builtins {
		seen[n] = true
	}
	for n := range m.externalsByName() {
		seen[n] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// Warnings reports what discovery found odd: an external plugin shadowed
// by a builtin of the same name, an unreadable plugin directory.
func (m *Manager) Warnings() []string {
	m.externalsByName()
	return append([]string(nil), m.warnings...)
}

// externals returns the external plugins, sorted by name.
func (m *Manager) externals() []Found {
	byName := m.externalsByName()
	out := make([]Found, 0, len(byName))
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[n])
	}
	return out
}

func (m *Manager) externalsByName() map[string]Found {
	m.discover.Do(func() {
		found, err := Discover(m.opts.SearchDirs)
		if err != nil {
			m.warnings = append(m.warnings, err.Error())
		}
		m.found = map[string]Found{}
		for _, f := range found {
			if _, ok := m.opts.Builtins[f.Name]; ok {
				m.warnings = append(m.warnings, fmt.Sprintf("%s is ignored: plugin %q is built into zrun, and builtins win", f.Path, f.Name))
				continue
			}
			m.found[f.Name] = f
		}
		sort.Strings(m.warnings)
	})
	return m.found
}
