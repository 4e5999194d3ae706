package plugins

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/rpc"
	"github.com/zrun-dev/zrun/sdk/schema"
)

// pluginClient is the sdk.Client the Manager hands out for one plugin.
// It outlives the process behind it: a call after a crash starts a new
// one.
type pluginClient struct {
	m       *Manager
	name    string
	path    string
	args    []string
	builtin bool

	// mu guards the process; held while starting it, so concurrent first
	// calls start it once.
	mu  sync.Mutex
	cur *process

	cacheOnce sync.Once
	cache     *answers
}

// answers returns the cache of the plugin's answers, or nil.
func (pc *pluginClient) answers() *answers {
	pc.cacheOnce.Do(func() { pc.cache = pc.m.answersFor(pc) })
	return pc.cache
}

// process is one started plugin process.
type process struct {
	rpc    *rpc.Client
	proc   *goplugin.Client
	stderr *tailWriter
}

func (pc *pluginClient) ensure(ctx context.Context, verify bool) error {
	_, err := pc.process(ctx, verify)
	return err
}

func (pc *pluginClient) process(_ context.Context, verify bool) (*process, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.cur != nil && !pc.cur.proc.Exited() {
		return pc.cur, nil
	}
	if pc.cur != nil {
		pc.cur.proc.Kill() // an exited process: release its resources
	}
	pc.m.mu.Lock()
	closed := pc.m.closed
	pc.m.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("plugin %q: the plugin manager is closed", pc.name)
	}
	if verify && !pc.builtin {
		if err := pc.verify(); err != nil {
			return nil, err
		}
	}
	return pc.start()
}

// verify checks the executable against the lock file. The file could
// still change between this check and its start; the lock guards against
// accidents, not against someone who can write the plugin directory.
func (pc *pluginClient) verify() error {
	lock := pc.m.opts.Lock
	if lock == nil {
		return nil
	}
	locked, ok := lock.Plugins[pc.name]
	if !ok {
		return fmt.Errorf("plugin %q at %s is not in %s; run \"zrun plugins lock\" to record it", pc.name, pc.path, LockFileName)
	}
	sum, err := fileSHA256(pc.path)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", pc.name, err)
	}
	if sum != locked.SHA256 {
		return fmt.Errorf("plugin %q at %s has checksum %s but %s records %s; if you upgraded it on purpose run \"zrun plugins lock\"",
			pc.name, pc.path, sum, LockFileName, locked.SHA256)
	}
	return nil
}

func (pc *pluginClient) start() (*process, error) {
	tail := &tailWriter{}
	proc := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: rpc.VersionedPlugins(nil),
		Cmd:              pluginCommand(pc.path, pc.args...),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		GRPCDialOptions:  rpc.DialOptions(),
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     30 * time.Second,
		Logger:           pc.m.opts.Logger.Named(pc.name),
		Stderr:           io.MultiWriter(pc.m.opts.Stderr, tail),
	})
	pc.m.countStart(pc.name)
	conn, err := proc.Client()
	if err != nil {
		proc.Kill()
		return nil, fmt.Errorf("starting plugin %q (%s): %w%s", pc.name, pc.path, err, tail.lastLines())
	}
	raw, err := conn.Dispense(rpc.PluginName)
	if err != nil {
		proc.Kill()
		return nil, fmt.Errorf("starting plugin %q (%s): %w", pc.name, pc.path, err)
	}
	pc.cur = &process{rpc: raw.(*rpc.Client), proc: proc, stderr: tail}
	return pc.cur, nil
}

// Start starts the plugin's process if it is not running, so that a
// first call does not wait for it.
func (pc *pluginClient) Start(ctx context.Context) error { return pc.ensure(ctx, true) }

func (pc *pluginClient) kill() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.cur != nil {
		pc.cur.proc.Kill()
	}
}

func (pc *pluginClient) GetSchema(ctx context.Context) (*schema.Plugin, error) {
	cache := pc.answers()
	if cache != nil {
		if s := cache.schema(); s != nil {
			return s, nil
		}
	}
	p, err := pc.process(ctx, true)
	if err != nil {
		return nil, err
	}
	s, err := p.rpc.GetSchema(ctx)
	if err != nil {
		return nil, pc.wrap(ctx, p, "getting the schema", err)
	}
	if cache != nil {
		cache.putSchema(s)
	}
	return s, nil
}

// ValidateActions answers what the cache knows and asks the plugin, in one
// call, about the rest. Calls with sensitive arguments are never cached.
func (pc *pluginClient) ValidateActions(ctx context.Context, reqs []*sdk.ValidateRequest) ([]sdk.Diagnostics, error) {
	out := make([]sdk.Diagnostics, len(reqs))
	keys := make([]string, len(reqs))
	var missing []*sdk.ValidateRequest
	var at []int
	cache := pc.answers()
	for i, req := range reqs {
		if cache != nil {
			if k, ok, err := rpc.ValidateKey(req); err == nil && ok {
				keys[i] = k
				if d, hit := cache.validation(k); hit {
					out[i] = d
					continue
				}
			}
		}
		missing = append(missing, req)
		at = append(at, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	p, err := pc.process(ctx, true)
	if err != nil {
		return nil, err
	}
	diags, err := p.rpc.ValidateActions(ctx, missing)
	if err != nil {
		return nil, pc.wrap(ctx, p, "validating arguments", err)
	}
	var putKeys []string
	var putDiags []sdk.Diagnostics
	for j, i := range at {
		out[i] = diags[j]
		if keys[i] != "" {
			putKeys, putDiags = append(putKeys, keys[i]), append(putDiags, diags[j])
		}
	}
	if cache != nil && len(putKeys) > 0 {
		cache.putValidations(putKeys, putDiags)
	}
	return out, nil
}

func (pc *pluginClient) PlanAction(ctx context.Context, action string, req *sdk.PlanRequest) (*sdk.PlanResponse, sdk.Diagnostics, error) {
	p, err := pc.process(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	resp, diags, err := p.rpc.PlanAction(ctx, action, req)
	return resp, diags, pc.wrap(ctx, p, "planning "+pc.name+"."+action, err)
}

func (pc *pluginClient) RunAction(ctx context.Context, action string, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	p, err := pc.process(ctx, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.rpc.RunAction(ctx, action, req)
	return resp, pc.wrap(ctx, p, "running "+pc.name+"."+action, err)
}

// wrap names the plugin in a call's error and tells a crash from other
// failures.
func (pc *pluginClient) wrap(ctx context.Context, p *process, doing string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("plugin %q: %s: %w", pc.name, doing, err)
	}
	// The transport notices a dead process before go-plugin reaps it.
	for i := 0; i < 40 && !p.proc.Exited(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if p.proc.Exited() {
		return fmt.Errorf("plugin %q (%s) exited unexpectedly while %s: %w%s", pc.name, pc.path, doing, err, p.stderr.lastLines())
	}
	return fmt.Errorf("plugin %q: %s: %w", pc.name, doing, err)
}

// tailWriter keeps the end of a plugin's stderr, to show with a crash.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > tailSize {
		w.buf = append(w.buf[:0:0], w.buf[len(w.buf)-tailSize:]...)
	}
	return len(p), nil
}

// lastLines returns the last lines that are not hclog JSON (a panic's
// message and trace), formatted to end an error message.
func (w *tailWriter) lastLines() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(w.buf)), "\n") {
		if l != "" && !strings.HasPrefix(l, "{") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "; its last output:\n" + strings.Join(lines, "\n")
}

// Interface guards
var _ sdk.Client = (*pluginClient)(nil)
