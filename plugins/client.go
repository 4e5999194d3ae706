package plugins

import (
	"context"
	"errors"
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
	log     *pluginLog

	// mu is held while a process starts, so concurrent first calls start
	// it once.
	mu sync.Mutex
	// curMu guards cur, and is never held for long: Close must not wait
	// for a start.
	curMu sync.Mutex
	cur   *process

	cacheOnce sync.Once
	cache     *answers
}

// answers returns the cache of the plugin's answers, or nil.
func (pc *pluginClient) answers() *answers {
	pc.cacheOnce.Do(func() { pc.cache = pc.m.answersFor(pc) })
	return pc.cache
}

func (pc *pluginClient) ensure(ctx context.Context, verify bool) error {
	_, err := pc.process(ctx, verify)
	return err
}

func (pc *pluginClient) process(_ context.Context, verify bool) (*process, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if cur := pc.current(); cur != nil && cur.alive() {
		return cur, nil
	} else if cur != nil {
		cur.stop(0) // an exited process: release its resources
	}
	if pc.m.isClosed() {
		return nil, fmt.Errorf("plugin %q: the plugin manager is closed", pc.name)
	}
	if verify {
		if err := pc.m.verify(pc); err != nil {
			return nil, err
		}
	}
	p, err := pc.start()
	if err != nil {
		return nil, err
	}
	if pc.m.isClosed() { // closed while it started
		p.stop(stopGrace)
		return nil, fmt.Errorf("plugin %q: the plugin manager is closed", pc.name)
	}
	pc.curMu.Lock()
	pc.cur = p
	pc.curMu.Unlock()
	return p, nil
}

func (pc *pluginClient) current() *process {
	pc.curMu.Lock()
	defer pc.curMu.Unlock()
	return pc.cur
}

func (pc *pluginClient) start() (*process, error) {
	tail := &tailWriter{}
	pc.m.countStart(pc.name)
	p, err := startProcess(&goplugin.ClientConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: rpc.VersionedPlugins(nil),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		GRPCDialOptions:  rpc.DialOptions(),
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     30 * time.Second,
		Logger:           quietLogger{pc.m.opts.Logger.Named(pc.name)},
		Stderr:           io.MultiWriter(pc.m.opts.Stderr, tail, pc.log.stream()),
		SyncStderr:       pc.log.stream(), // os.Stderr inside the plugin, once it serves
	}, pluginCommand(pc.path, pc.args...), tail)
	if err != nil {
		p.stop(0)
		return nil, fmt.Errorf("starting plugin %q (%s): %w%s", pc.name, pc.path, err, tail.lastLines())
	}
	return p, nil
}

// Start starts the plugin's process if it is not running, so that a
// first call does not wait for it.
func (pc *pluginClient) Start(ctx context.Context) error { return pc.ensure(ctx, true) }

// stop ends the plugin's process, within stopGrace and a few killWaits.
func (pc *pluginClient) stop() {
	if cur := pc.current(); cur != nil {
		cur.stop(stopGrace)
	}
}

func (pc *pluginClient) GetSchema(ctx context.Context) (*schema.Plugin, error) {
	cache := pc.answers()
	if cache != nil {
		if s := cache.schema(); s != nil {
			if err := pc.m.checkSchema(pc, s); err != nil {
				return nil, err
			}
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
	if err := pc.m.checkSchema(pc, s); err != nil {
		return nil, err
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
	defer pc.log.track(req.UI)()
	lines := pc.log.stepStream(req.UI)
	defer lines.flush()
	call := *req
	call.PluginLog = lines
	resp, err := p.rpc.RunAction(ctx, action, &call)
	return resp, pc.wrap(ctx, p, "running "+pc.name+"."+action, err)
}

// wrap names the plugin in a call's error and tells a crash from other
// failures. A call whose ctx ended did not wait for the plugin's answer:
// the plugin must show it still answers, or it is killed, so that the
// next call (a finally step) gets a fresh process rather than a hung one.
func (pc *pluginClient) wrap(ctx context.Context, p *process, doing string, err error) error {
	if ctx.Err() != nil {
		p.checkAnswers()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("plugin %q: %s: %w", pc.name, doing, ctxError(ctx))
	}
	if p.exitedUnexpectedly() {
		// The transport's own error ("error reading from server: EOF")
		// says nothing the exit status does not.
		return fmt.Errorf("plugin %q (%s) exited unexpectedly while %s (%s)%s", pc.name, pc.path, doing, p.exitStatus(), p.stderr.lastLines())
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

// ctxError says why a call's ctx ended in an operator's words ("timed
// out", not "context deadline exceeded"), still matching
// errors.Is(err, ctx.Err()).
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != err {
		return &ctxEnded{msg: cause.Error(), err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &ctxEnded{msg: "timed out", err: err}
	}
	return &ctxEnded{msg: "cancelled", err: err}
}

type ctxEnded struct {
	msg string
	err error
}

func (e *ctxEnded) Error() string { return e.msg }
func (e *ctxEnded) Unwrap() error { return e.err }

// SettleLogs waits briefly (at most half a second) for log lines the
// plugin's steps wrote just before their calls returned; see
// pluginLog.settle. The engine calls it before a run ends.
func (pc *pluginClient) SettleLogs(ctx context.Context) {
	if pc.log != nil {
		pc.log.settle(ctx, logQuiet, 500*time.Millisecond)
	}
}

// logQuiet is how long a plugin's log must be quiet after its last step
// for the run to end without waiting on it.
const logQuiet = 50 * time.Millisecond

// Interface guards
var _ sdk.Client = (*pluginClient)(nil)
