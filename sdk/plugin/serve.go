package plugin

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

// Serve serves p until the host ends the process. It is all a plugin's
// main needs to call:
//
//	func main() { plugin.Serve(&sdk.Plugin{Name: "greet", ...}) }
//
// Serve panics on an invalid schema: that is a bug in the plugin, found
// the first time it starts. The plugin logs to stderr as hclog JSON, which
// the host relays; stdout belongs to go-plugin's handshake. The SDK owns
// the process's stderr (rpc.CaptureStderr): what is written there while
// one call runs reaches that call's step before the call answers. Run by hand,
// the binary says it is a plugin and exits 1.
//
// The plugin process owns every process its actions start: it is their
// child subreaper, SIGTERM and SIGHUP make it kill them all and exit, and
// so does the end of serving.
func Serve(p *sdk.Plugin) { ServeOpts(p, nil) }

// Options adjust how a plugin is served; the zero value is what Serve
// uses.
type Options struct {
	// Logger replaces the default stderr JSON logger.
	Logger hclog.Logger
	// Test serves in go-plugin's test mode (no handshake on stdout, the
	// process is not taken over): see goplugin.ServeTestConfig.
	Test *goplugin.ServeTestConfig
}

// ServeOpts is Serve with options.
func ServeOpts(p *sdk.Plugin, opts *Options) {
	if opts == nil {
		opts = &Options{}
	}
	var captureErr error
	if opts.Test == nil {
		// Before the logger: it writes to the stderr the SDK now owns.
		captureErr = rpc.CaptureStderr()
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{
			Name:       p.Name,
			Level:      hclog.Info,
			Output:     os.Stderr,
			JSONFormat: true,
		})
	}
	if captureErr != nil {
		logger.Warn("a step's log lines may reach it late", "error", captureErr)
	}
	if opts.Test == nil {
		ownSubtree(logger)
		// However serving ends (the host's shutdown call), nothing the
		// plugin started outlives it.
		defer local.KillDescendants(killTimeout)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: PluginSets(p),
		GRPCServer:       rpc.NewGRPCServer,
		Logger:           logger,
		Test:             opts.Test,
	})
}

// killTimeout bounds how long a plugin process that is ending waits for
// its descendants to die.
const killTimeout = time.Second

// ownSubtree makes the plugin process answer for every process its
// actions start, however deep: orphans come to it (a child subreaper),
// and SIGTERM or SIGHUP (the host stopping it, or the death signal it gets
// if the host dies, even by SIGKILL) kill them all before it exits.
func ownSubtree(logger hclog.Logger) {
	if err := local.BecomeSubreaper(); err != nil {
		logger.Warn("cannot become a child subreaper: descendants that leave their process group may outlive the plugin", "error", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		local.KillDescendants(killTimeout)
		os.Exit(0) // a stop the host asked for: not an error to log
	}()
}

// PluginSets checks p and returns the go-plugin plugin sets that serve it,
// by protocol version; sdktest uses it to serve p without a process. It
// panics on an invalid schema.
func PluginSets(p *sdk.Plugin) map[int]goplugin.PluginSet {
	if err := Check(p); err != nil {
		panic(fmt.Sprintf("zrun plugin: %s", err))
	}
	return rpc.VersionedPlugins(sdk.InProcess(p))
}

// Check reports the mistakes in p that Serve panics on: an invalid name or
// schema, a nil or duplicate action.
func Check(p *sdk.Plugin) error {
	if p == nil {
		return fmt.Errorf("no plugin")
	}
	seen := map[string]bool{}
	for i, a := range p.Actions {
		if a == nil || a.Schema() == nil {
			return fmt.Errorf("plugin %q: action #%d is nil or has no schema", p.Name, i)
		}
		name := a.Schema().Name
		if seen[name] {
			return fmt.Errorf("plugin %q: action %q is declared twice", p.Name, name)
		}
		seen[name] = true
	}
	return p.Schema().Validate()
}
