package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/zrun-dev/zrun/sdk"
)

// The health gate's pace: how often it looks, how long a container
// without any check must stay running, how long one HTTP probe may take,
// and how many log lines a failure quotes.
const (
	gatePoll      = 200 * time.Millisecond
	gateSteady    = 2 * time.Second
	gateHTTPLimit = 2 * time.Second
	gateLogLines  = 20
)

// readiness is the health gate of docker.container (docs/docker-plugin.md,
// "The health gate"): a container is ready when it runs and Docker
// reports it healthy (if it has a healthcheck) and http_check answers 2xx
// (if set); with neither, once it has stayed running for gateSteady.
type readiness struct {
	c       *client.Client
	target  sdk.Target
	network string // where http_check reaches the container
	http    *httpCheck
	timeout time.Duration
	steady  time.Duration
}

// gateError is a failed health gate: why, with the last health probe's
// output and the container's last log lines.
type gateError struct {
	name   string
	reason string
	probes []string // the last health probe, the last http_check answer
	logs   string
}

func (e *gateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "container %s %s", e.name, e.reason)
	for _, p := range e.probes {
		b.WriteString("; " + p)
	}
	if e.logs != "" {
		fmt.Fprintf(&b, "; its last log lines:\n%s", e.logs)
	} else {
		b.WriteString("; it logged nothing")
	}
	return b.String()
}

// wait runs the gate on the container id (called name in messages) until
// it is ready, fails, or the gate's timeout passes.
func (r *readiness) wait(ctx context.Context, id, name string) error {
	gctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	probe := &httpProbe{target: r.target, check: r.http}
	var startedAt string
	var runningSince time.Time
	restarts := -1
	tick := time.NewTicker(gatePoll)
	defer tick.Stop()
	for {
		ins, err := r.c.ContainerInspect(gctx, id)
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("inspecting container %s: %w", name, err)
		}
		if err == nil {
			st := ins.State
			if !st.Running || st.Restarting {
				return r.fail(ctx, id, name, exitReason(st), ins)
			}
			if restarts < 0 {
				restarts = ins.RestartCount
			} else if ins.RestartCount > restarts {
				return r.fail(ctx, id, name, "exited and was restarted (its restart policy) before it was ready", ins)
			}
			if st.Health != nil && st.Health.Status == container.Unhealthy {
				return r.fail(ctx, id, name, "is unhealthy (Docker's healthcheck)", ins)
			}
			if st.StartedAt != startedAt {
				startedAt, runningSince = st.StartedAt, time.Now()
			}
			healthy := st.Health == nil || st.Health.Status == container.Healthy
			answered := r.http == nil || probe.get(gctx, ipOn(ins, r.network))
			steady := st.Health != nil || r.http != nil || time.Since(runningSince) >= r.steady
			if healthy && answered && steady {
				return nil
			}
		}
		select {
		case <-gctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last, _ := r.c.ContainerInspect(ctx, id)
			return r.fail(ctx, id, name, "is not ready within "+r.timeout.String()+" (ready_timeout)"+stillWhat(last, probe), last)
		case <-tick.C:
		}
	}
}

// fail is the gate's error for reason, with what the container's health
// probe and http_check said last and its last log lines.
func (r *readiness) fail(ctx context.Context, id, name, reason string, ins container.InspectResponse) error {
	e := &gateError{name: name, reason: reason}
	if ins.ContainerJSONBase != nil && ins.State != nil && ins.State.Health != nil {
		if logs := ins.State.Health.Log; len(logs) > 0 {
			last := logs[len(logs)-1]
			e.probes = append(e.probes, fmt.Sprintf("last health probe (exit %d): %s", last.ExitCode, oneLine(last.Output, 500)))
		}
	}
	lctx, cancel := cleanupCtx(ctx)
	defer cancel()
	e.logs = lastLogLines(lctx, r.c, id, gateLogLines)
	return e
}

// exitReason says how a container that is not running ended.
func exitReason(st *container.State) string {
	what := "exited with code " + strconv.Itoa(st.ExitCode)
	if st.Restarting {
		what = "is restarting (it exited with code " + strconv.Itoa(st.ExitCode) + ")"
	}
	if st.OOMKilled {
		what += ", killed for lack of memory (memory limit)"
	}
	if st.Error != "" {
		what += ": " + st.Error
	}
	return what + " before it was ready"
}

// stillWhat says what a container that timed out was still waiting for.
func stillWhat(ins container.InspectResponse, probe *httpProbe) string {
	var parts []string
	if ins.ContainerJSONBase != nil && ins.State != nil && ins.State.Health != nil {
		parts = append(parts, "Docker's healthcheck still says "+ins.State.Health.Status)
	}
	if probe.check != nil && probe.last != "" {
		parts = append(parts, probe.last)
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// ipOn is the container's IP address on network, "" if it has none.
func ipOn(ins container.InspectResponse, network string) string {
	if ins.NetworkSettings == nil {
		return ""
	}
	if ep := ins.NetworkSettings.Networks[network]; ep != nil {
		return ep.IPAddress
	}
	return ""
}

// httpProbe is http_check: GETs of the container's port and path, each
// dialled through the target (the container's IP is reachable from the
// machine its engine runs on, not necessarily from this one).
type httpProbe struct {
	target sdk.Target
	check  *httpCheck
	last   string // what the last GET got, for a timeout's error
	client *http.Client
}

// get reports whether the container at ip answers the check with 2xx.
func (p *httpProbe) get(ctx context.Context, ip string) bool {
	if ip == "" {
		p.last = "http_check: the container has no IP address on its first network yet"
		return false
	}
	if p.client == nil {
		p.client = &http.Client{
			Timeout: gateHTTPLimit,
			Transport: &http.Transport{
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
					return p.target.Dial(ctx, "tcp", addr)
				},
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	url := "http://" + net.JoinHostPort(ip, strconv.Itoa(p.check.port)) + p.check.path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		p.last = "http_check: " + err.Error()
		return false
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() == nil {
			p.last = "http_check GET " + url + ": " + err.Error()
		}
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	p.last = fmt.Sprintf("http_check GET %s answered %s %s", url, resp.Status, oneLine(string(body), 200))
	return resp.StatusCode/100 == 2
}

// lastLogLines is the container's last n log lines (stdout and stderr
// together), or a note saying why they cannot be had.
func lastLogLines(ctx context.Context, c *client.Client, id string, n int) string {
	rc, err := c.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "(its logs cannot be read: " + err.Error() + ")"
	}
	defer rc.Close()
	var buf bytes.Buffer
	w := &limitedWriter{w: &buf, n: 64 << 10}
	if _, err := stdcopy.StdCopy(w, w, rc); err != nil && buf.Len() == 0 {
		return "(its logs cannot be read: " + err.Error() + ")"
	}
	return strings.TrimRight(strings.ToValidUTF8(buf.String(), "\uFFFD"), "\n")
}

// limitedWriter keeps the first n bytes written to it and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	k := min(len(p), l.n)
	l.n -= k
	if k > 0 {
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// oneLine is s trimmed, its lines joined, cut to max bytes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// cleanupCtx is a context for putting things back after ctx may have
// ended (a cancelled run still removes the candidate it made), bounded.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
