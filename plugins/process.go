package plugins

import (
	"context"
	"os/exec"
	"sync"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/rpc"
)

// Every wait on a plugin process is bounded; past the bound the process
// is killed, with everything it started.
const (
	// answerGrace is how long a plugin whose call was cancelled (Ctrl-C,
	// a step's timeout) has to show it still answers; a stopped or hung
	// plugin is killed then, and the next call starts a fresh one.
	answerGrace = time.Second
	// stopGrace is how long a plugin told to stop (SIGTERM: it kills what
	// it started and exits) has before it is killed (SIGKILL).
	stopGrace = time.Second
	// killWait bounds each wait after a SIGKILL: for the process to be
	// reaped, for go-plugin to let go of it, for its orphans to die.
	killWait = time.Second
)

// process is one started plugin process.
type process struct {
	rpc     *rpc.Client
	proc    *goplugin.Client
	conn    *goplugin.GRPCClient
	cmd     *exec.Cmd
	stderr  *tailWriter
	release func() // forgets the process in sdk/local's registry

	stopOnce sync.Once
	stopped  chan struct{}

	checkMu  sync.Mutex
	checking chan struct{} // closed when the health check in flight ends
}

// startProcess starts a plugin process and connects to it. It returns the
// process even on error, so the caller can stop it.
func startProcess(cfg *goplugin.ClientConfig, cmd *exec.Cmd, stderr *tailWriter) (*process, error) {
	cfg.Cmd = cmd
	proc := goplugin.NewClient(cfg)
	p := &process{proc: proc, cmd: cmd, stderr: stderr, stopped: make(chan struct{})}
	var conn goplugin.ClientProtocol
	// Recorded as zrun's own as it starts, so zrun never takes it for an
	// orphan (local.KillOrphans).
	release, err := local.Spawn(func() (int, error) {
		var err error
		conn, err = proc.Client()
		if cmd.Process == nil {
			return 0, err
		}
		return cmd.Process.Pid, err
	})
	p.release = release
	if err != nil {
		return p, err
	}
	p.conn, _ = conn.(*goplugin.GRPCClient)
	raw, err := conn.Dispense(rpc.PluginName)
	if err != nil {
		return p, err
	}
	p.rpc = raw.(*rpc.Client)
	return p, nil
}

// alive reports whether the process runs and has not been told to stop.
func (p *process) alive() bool {
	select {
	case <-p.stopped:
		return false
	default:
		return !p.proc.Exited()
	}
}

// stop ends the process: SIGTERM (a plugin of this SDK then kills what it
// started and exits), SIGKILL after grace, and then zrun kills what the
// process left behind. It returns within grace plus a few killWaits,
// whatever the plugin does: a stopped (SIGSTOP) plugin is killed too.
func (p *process) stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		close(p.stopped)
		if pr := p.cmd.Process; pr != nil {
			_ = pr.Signal(syscall.SIGTERM)
			_ = pr.Signal(syscall.SIGCONT)
			if !p.waitExit(grace) {
				_ = pr.Kill()
				p.waitExit(killWait)
				local.KillOrphans(killWait)
			}
		}
		// go-plugin's Kill makes a shutdown call without a deadline and
		// waits for its goroutines; with the process gone it returns at
		// once, but it gets a bound all the same.
		done := make(chan struct{})
		go func() {
			p.proc.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killWait):
		}
		p.release()
	})
}

// waitExit waits at most d for the process to exit.
func (p *process) waitExit(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !p.proc.Exited() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// exitedUnexpectedly reports whether the process died by itself; it
// waits a little, since the transport notices a dead process before
// go-plugin reaps it. The orphans of a plugin that died (SIGKILL, a
// crash) come to zrun, which kills them.
func (p *process) exitedUnexpectedly() bool {
	for i := 0; i < 40 && !p.proc.Exited(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if !p.proc.Exited() {
		return false
	}
	local.KillOrphans(killWait)
	p.stop(0)
	return true
}

// exitStatus says how an exited process ended: "exit status 2",
// "signal: killed".
func (p *process) exitStatus() string {
	if ps := p.cmd.ProcessState; ps != nil {
		return ps.String()
	}
	return "no exit status"
}

// checkAnswers asks the process whether it still answers, once for all
// callers at a time, and stops it unless it answers within answerGrace.
func (p *process) checkAnswers() {
	p.checkMu.Lock()
	if p.checking != nil {
		ch := p.checking
		p.checkMu.Unlock()
		<-ch
		return
	}
	ch := make(chan struct{})
	p.checking = ch
	p.checkMu.Unlock()
	defer func() {
		p.checkMu.Lock()
		p.checking = nil
		p.checkMu.Unlock()
		close(ch)
	}()
	if !p.alive() {
		return
	}
	if p.conn == nil || !healthy(p.conn, answerGrace) {
		p.stop(0)
	}
}

// healthy runs gRPC's health check on a plugin connection, bounded.
func healthy(c *goplugin.GRPCClient, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := grpc_health_v1.NewHealthClient(c.Conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	return err == nil
}
