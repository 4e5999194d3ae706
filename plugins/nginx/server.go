package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// connArgs are the arguments every action takes to reach nginx on the
// step's target (embedded in each action's arguments).
type connArgs struct {
	Nginx         *string `zrun:"nginx" help:"The nginx binary on the target. Default: \"nginx\" (looked up in PATH)."`
	Config        *string `zrun:"config" help:"The main configuration file, passed with -c to nginx -t and nginx -s reload. Default: \"/etc/nginx/nginx.conf\"."`
	Prefix        *string `zrun:"prefix" help:"nginx's prefix path, passed with -p when set."`
	Sudo          bool    `zrun:"sudo,optional" help:"Run nginx through sudo -n (no password prompt)."`
	PidFile       *string `zrun:"pid_file" help:"The master's pid file. Default: the main configuration's pid directive, else the one nginx was built with (nginx -V)."`
	ReloadTimeout *string `zrun:"reload_timeout" help:"How long a reload may take to replace the workers before it counts as failed, e.g. \"10s\". Default: \"10s\"."`
}

const (
	defaultConfig        = "/etc/nginx/nginx.conf"
	defaultReloadTimeout = 10 * time.Second
	// maxOutput bounds what is kept of nginx's output for messages.
	maxOutput = 16 << 10
)

func (c *connArgs) validate(known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("reload_timeout") && c.ReloadTimeout != nil {
		if d, err := time.ParseDuration(*c.ReloadTimeout); err != nil || d <= 0 {
			diags = diags.Errorf(cty.GetAttrPath("reload_timeout"), "Invalid duration",
				fmt.Sprintf("reload_timeout %q is not a positive duration; write it as \"10s\" or \"1m\".", *c.ReloadTimeout))
		}
	}
	for name, p := range map[string]*string{"config": c.Config, "prefix": c.Prefix, "pid_file": c.PidFile} {
		if known.Has(name) && p != nil && !path.IsAbs(*p) {
			diags = diags.Errorf(cty.GetAttrPath(name), "Relative path",
				fmt.Sprintf("%s %q must be an absolute path on the target, e.g. \"/etc/nginx/nginx.conf\".", name, *p))
		}
	}
	return diags
}

// server is nginx on one target, as connArgs describe it.
type server struct {
	t       sdk.Target
	ui      sdk.UI
	bin     string
	config  string
	prefix  string
	sudo    bool
	pidFile string // resolved lazily by pid
	timeout time.Duration
	old     []int // the workers before the last reload
}

func (c *connArgs) server(ui sdk.UI) (*server, error) {
	if ui == nil || ui.Target() == nil {
		return nil, errors.New("the host gave the step no target")
	}
	s := &server{t: ui.Target(), ui: ui, bin: "nginx", config: defaultConfig, sudo: c.Sudo, timeout: defaultReloadTimeout}
	if c.Nginx != nil {
		s.bin = *c.Nginx
	}
	if c.Config != nil {
		s.config = *c.Config
	}
	if c.Prefix != nil {
		s.prefix = *c.Prefix
	}
	if c.PidFile != nil {
		s.pidFile = *c.PidFile
	}
	if c.ReloadTimeout != nil {
		s.timeout, _ = time.ParseDuration(*c.ReloadTimeout)
	}
	return s, nil
}

// applying holds one token per nginx (target and main configuration):
// the steps of a run that change one nginx (say two nginx.upstream steps
// running side by side) take turns, so that one's nginx -t never reads
// another's half-done change and each reload's proof is its own.
var applying sync.Map // applyKey -> chan struct{}

type applyKey struct {
	t      sdk.Target
	config string
}

// lock waits for this nginx's turn; the returned func gives it back.
func (s *server) lock(ctx context.Context) (func(), error) {
	v, _ := applying.LoadOrStore(applyKey{s.t, s.config}, make(chan struct{}, 1))
	turn := v.(chan struct{})
	select {
	case turn <- struct{}{}:
		return func() { <-turn }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another step changing nginx on %s: %w", s.t.Name(), ctx.Err())
	}
}

// args is an nginx command line: the binary, -p and -c, then extra.
func (s *server) args(extra ...string) []string {
	a := []string{s.bin}
	if s.prefix != "" {
		a = append(a, "-p", s.prefix)
	}
	return append(append(a, "-c", s.config), extra...)
}

// run runs nginx with extra arguments and returns its exit code and
// what it wrote (nginx writes its messages to stderr).
func (s *server) run(ctx context.Context, extra ...string) (int, string, error) {
	var out boundedBuffer
	args := s.args(extra...)
	res, err := s.t.Exec(ctx, &sdk.Command{Args: args, Sudo: s.sudo, Stdout: &out, Stderr: &out})
	if err != nil {
		return 0, "", fmt.Errorf("run %s on %s: %w", strings.Join(args, " "), s.t.Name(), err)
	}
	return res.ExitCode, strings.TrimSpace(out.String()), nil
}

// refused is nginx -t's refusal of a configuration, with its message.
type refused struct{ error }

// testFailed is the exit code of testReload's script when nginx -t fails.
const testFailed = 97

// test runs nginx -t; a refused configuration is a *refused carrying
// nginx's own message (file:line).
func (s *server) test(ctx context.Context) error {
	code, out, err := s.run(ctx, "-t", "-q")
	if err != nil {
		return err
	}
	return s.tested(code != 0, out)
}

// tested turns nginx -t's outcome into an error, or logs its warnings.
func (s *server) tested(failed bool, out string) error {
	if failed {
		return &refused{fmt.Errorf("nginx -t -c %s failed on %s:\n%s", s.config, s.t.Name(), out)}
	}
	if out != "" {
		s.ui.Logf("nginx -t on %s passed, with warnings:\n%s", s.t.Name(), out) // a conflicting server name...
	}
	return nil
}

// testReload runs nginx -t and, when it passes, nginx -s reload, in one
// command: on a host over SSH each command costs a session. Then it
// waits for the proof as reload does. A refusal is a *refused.
func (s *server) testReload(ctx context.Context) error {
	master, before, err := s.workers(ctx)
	if err != nil {
		return err
	}
	var out boundedBuffer
	args := append([]string{"sh", "-c", `"$0" "$@" -t -q || exit ` + strconv.Itoa(testFailed) + `; exec "$0" "$@" -s reload`}, s.args()...)
	res, err := s.t.Exec(ctx, &sdk.Command{Args: args, Sudo: s.sudo, Stdout: &out, Stderr: &out})
	if err != nil {
		return fmt.Errorf("run nginx -t and nginx -s reload on %s: %w", s.t.Name(), err)
	}
	s.old = before
	text := strings.TrimSpace(out.String())
	switch res.ExitCode {
	case testFailed:
		return s.tested(true, text)
	case 0:
		_ = s.tested(false, text)
	default:
		return fmt.Errorf("nginx -s reload failed on %s (exit code %d):\n%s", s.t.Name(), res.ExitCode, text)
	}
	return s.replacedWithin(ctx, master, before, s.timeout)
}

// reload signals the master to reload and waits until it has replaced
// its workers: the proof that it parsed the configuration and took it.
func (s *server) reload(ctx context.Context) error { return s.reloadWithin(ctx, s.timeout) }

// reloadWithin is reload with its own bound on the wait for new workers.
func (s *server) reloadWithin(ctx context.Context, timeout time.Duration) error {
	master, before, err := s.workers(ctx)
	if err != nil {
		return err
	}
	code, out, err := s.run(ctx, "-s", "reload")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("nginx -s reload failed on %s (exit code %d):\n%s", s.t.Name(), code, out)
	}
	return s.replacedWithin(ctx, master, before, timeout)
}

// replacedWithin waits, at most timeout, until master has replaced the
// workers it had before the reload signal (replaced).
func (s *server) replacedWithin(ctx context.Context, master int, before []int, timeout time.Duration) error {
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		now, err := s.children(wait, master)
		switch {
		case wait.Err() != nil && ctx.Err() == nil:
			// The wait's own bound: said below.
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("nginx's master (pid %d) on %s is gone after the reload: its error log says why", master, s.t.Name())
		case err != nil:
			return fmt.Errorf("list the workers of nginx's master (pid %d) on %s: %w", master, s.t.Name(), err)
		}
		if took, err := s.replaced(wait, before, now); err == nil && took {
			return nil
		}
		select {
		case <-wait.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for nginx's reload on %s: %w", s.t.Name(), ctx.Err())
			}
			return fmt.Errorf("nginx on %s did not take the configuration within %s: the master (pid %d) did not replace its workers (it has %v); its error log says why",
				s.t.Name(), timeout, master, now)
		case <-tick.C:
		}
	}
}

// replaced reports whether the master's children now show a finished
// reload: a worker not there before, and every old one gone or shutting
// down (it no longer accepts connections: a new connection reaches the
// new configuration once this holds).
func (s *server) replaced(ctx context.Context, before, now []int) (bool, error) {
	started := false
	for _, pid := range now {
		if !slices.Contains(before, pid) {
			started = true
		}
	}
	if !started {
		return false, nil
	}
	for _, pid := range now {
		if !slices.Contains(before, pid) {
			continue
		}
		if retiring, err := s.retiring(ctx, pid); err != nil || !retiring {
			return false, err
		}
	}
	return true, nil
}

// drain waits, at most timeout, until the workers the last reload
// replaced have exited: every request they were serving (through the
// previous configuration's upstreams) has ended.
func (s *server) drain(ctx context.Context, timeout time.Duration) error {
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var left []int
		for _, pid := range s.old {
			stat, err := readFile(wait, s.t, fmt.Sprintf("/proc/%d/stat", pid), 4096)
			if err != nil && wait.Err() == nil {
				return fmt.Errorf("look at nginx's old worker %d on %s: %w", pid, s.t.Name(), err)
			}
			if stat != nil && !bytes.Contains(stat, []byte(") Z ")) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-wait.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for nginx's old workers on %s: %w", s.t.Name(), ctx.Err())
			}
			return fmt.Errorf("nginx's old workers %v on %s still serve requests after %s (long requests or WebSockets; nginx's worker_shutdown_timeout bounds them)", left, s.t.Name(), timeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// live returns the running master's pid and its workers that are not
// shutting down (after a reload, the old ones may linger a moment).
func (s *server) live(ctx context.Context) (int, []int, error) {
	master, kids, err := s.workers(ctx)
	if err != nil {
		return 0, nil, err
	}
	var out []int
	for _, pid := range kids {
		retiring, err := s.retiring(ctx, pid)
		if err != nil {
			return 0, nil, err
		}
		if !retiring {
			out = append(out, pid)
		}
	}
	return master, out, nil
}

// retiring reports whether a worker is on its way out. A worker that took
// the signal to stop retitles itself ("worker process is shutting down")
// before it closes its listening sockets, in one step of its event loop;
// one that exited (and is not reaped yet) has no command line.
func (s *server) retiring(ctx context.Context, pid int) (bool, error) {
	cmd, err := readFile(ctx, s.t, fmt.Sprintf("/proc/%d/cmdline", pid), 4096)
	if err != nil {
		return false, err
	}
	return len(cmd) == 0 || bytes.Contains(cmd, []byte("shutting down")), nil
}

// workers returns the running master's pid and its children's.
func (s *server) workers(ctx context.Context) (int, []int, error) {
	master, err := s.master(ctx)
	if err != nil {
		return 0, nil, err
	}
	if master == 0 {
		return 0, nil, fmt.Errorf("nginx is not running on %s (no live master in %s): start it first, e.g. with an nginx.ensure_running step", s.t.Name(), s.pidFile)
	}
	kids, err := s.children(ctx, master)
	if err != nil {
		return 0, nil, fmt.Errorf("list the workers of nginx's master (pid %d) on %s: %w", master, s.t.Name(), err)
	}
	return master, kids, nil
}

// master returns the pid of the live master named by the pid file, or 0
// when there is none (no pid file, or a stale one).
func (s *server) master(ctx context.Context) (int, error) {
	pidFile, err := s.pidPath(ctx)
	if err != nil {
		return 0, err
	}
	b, err := readFile(ctx, s.t, pidFile, 64)
	if err != nil {
		return 0, fmt.Errorf("read nginx's pid file %s on %s: %w", pidFile, s.t.Name(), err)
	}
	if b == nil {
		return 0, nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("nginx's pid file %s on %s holds %q, not a process id", pidFile, s.t.Name(), b)
	}
	if _, err := s.children(ctx, pid); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return pid, nil
}

// children lists pid's child processes (Linux's /proc children file,
// readable through any target).
func (s *server) children(ctx context.Context, pid int) ([]int, error) {
	p := fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)
	b, err := readFile(ctx, s.t, p, 1<<16)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("no process %d: %w", pid, fs.ErrNotExist)
	}
	var kids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			kids = append(kids, n)
		}
	}
	return kids, nil
}

var (
	pidDirective = regexp.MustCompile(`(?m)^\s*pid\s+("[^"]+"|'[^']+'|[^\s;]+)\s*;`)
	pidPathFlag  = regexp.MustCompile(`--pid-path=(\S+)`)
	prefixFlag   = regexp.MustCompile(`--prefix=(\S+)`)
)

// pidPath resolves the pid file: the pid_file argument, the main
// configuration's pid directive, or the path nginx was built with; a
// relative one is below the prefix.
func (s *server) pidPath(ctx context.Context) (string, error) {
	if s.pidFile != "" {
		return s.pidFile, nil
	}
	p := ""
	conf, err := readFile(ctx, s.t, s.config, 1<<20)
	if err != nil {
		return "", fmt.Errorf("read %s on %s: %w", s.config, s.t.Name(), err)
	}
	if m := pidDirective.FindSubmatch(conf); m != nil {
		p = strings.Trim(string(m[1]), `"'`)
	}
	var built string
	if p == "" || (!path.IsAbs(p) && s.prefix == "") {
		var out boundedBuffer
		if _, err := s.t.Exec(ctx, &sdk.Command{Args: []string{s.bin, "-V"}, Sudo: s.sudo, Stdout: &out, Stderr: &out}); err != nil {
			return "", fmt.Errorf("run %s -V on %s: %w", s.bin, s.t.Name(), err)
		}
		built = out.String()
	}
	if p == "" {
		m := pidPathFlag.FindStringSubmatch(built)
		if m == nil {
			return "", &sdk.ArgError{Path: cty.GetAttrPath("pid_file"), Summary: "Cannot find nginx's pid file",
				Detail: fmt.Sprintf("%s has no pid directive and %s -V names no --pid-path on %s: set pid_file.", s.config, s.bin, s.t.Name())}
		}
		p = m[1]
	}
	if !path.IsAbs(p) {
		prefix := s.prefix
		if m := prefixFlag.FindStringSubmatch(built); prefix == "" && m != nil {
			prefix = m[1]
		}
		p = path.Join(prefix, p)
	}
	s.pidFile = p
	return p, nil
}

// readFile reads a file of at most limit bytes from the target; nil
// when it does not exist.
func readFile(ctx context.Context, t sdk.Target, name string, limit int64) ([]byte, error) {
	r, err := t.Open(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// boundedBuffer keeps the first maxOutput bytes written to it, from
// stdout and stderr at once.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
