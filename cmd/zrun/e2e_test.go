package main

// End-to-end tests: TestMain builds zrun and the test plugins once, and each
// test runs the binary on a copy of a project from testdata/ (or on the
// repository itself), checking exit codes and output. Tests that look for
// leftover processes run serially; the others run in parallel.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Built once by TestMain.
var (
	repoRoot  string // the module root
	binDir    string // holds the binaries below, and nothing else of ours runs from it
	zrunBin   string
	greetBin  string
	crashyBin string
	emptyHome string // $HOME of every zrun run, so ~/.zrun/plugins is empty
)

// runTimeout bounds every zrun invocation: a hang fails the test.
const runTimeout = 30 * time.Second

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "zrun-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = filepath.Join(dir, "bin")
	emptyHome = filepath.Join(dir, "home")
	if err := os.MkdirAll(emptyHome, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// One go build writes each main package's binary into binDir.
	build := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
		"./cmd/zrun", "./cmd/zrun-rclone", "./testdata/plugins/zrun-plugin-greet", "./testdata/plugins/zrun-plugin-crashy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building zrun and the test plugins: %v\n%s", err, out)
		return 1
	}
	zrunBin = filepath.Join(binDir, "zrun")
	greetBin = filepath.Join(binDir, "zrun-plugin-greet")
	crashyBin = filepath.Join(binDir, "zrun-plugin-crashy")
	return m.Run()
}

// moduleRoot walks up from the working directory (cmd/zrun under go test)
// to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// result is what one zrun invocation did.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// String shows the whole invocation in a failure message.
func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// zrunCommand prepares `zrun args...` in dir (so relative paths in steps
// land in the project), with a private $HOME and only the extra
// environment variables given.
func zrunCommand(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, zrunBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+emptyHome, "NO_COLOR=1", "ZRUN_ENV=", "ZRUN_PLUGIN_PATH=", "ZRUN_LOG=")
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// zrun runs `zrun -C dir args...` to completion in dir and returns what
// it did.
func zrun(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return zrunIn(t, dir, env, append([]string{"-C", dir}, args...)...)
}

// zrunIn runs `zrun args...` to completion in dir, without -C.
func zrunIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return zrunStdin(t, dir, env, nil, args...)
}

// zrunStdin is zrunIn with stdin (nil: none).
func zrunStdin(t *testing.T, dir string, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := zrunCommand(ctx, dir, env, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("zrun %s: still running after %s\n%s", strings.Join(args, " "), runTimeout, r)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("zrun %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// wantCode fails the test unless zrun exited with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit code %d, got\n%s", code, r)
	}
}

// wantContains fails the test for each want missing from got.
func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

var spaces = regexp.MustCompile(`\s+`)

// oneLine joins wrapped text, so a phrase split across lines still matches.
func oneLine(s string) string { return spaces.ReplaceAllString(s, " ") }

// project copies testdata/NAME into a fresh folder and returns its path.
func project(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// installPlugin copies a plugin binary into dir as an executable.
func installPlugin(t *testing.T, bin, dir string) string {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(bin))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

func wantFile(t *testing.T, path string, exists bool) {
	t.Helper()
	_, err := os.Stat(path)
	switch {
	case exists && err != nil:
		t.Errorf("%s should exist: %v", filepath.Base(path), err)
	case !exists && err == nil:
		t.Errorf("%s exists: something ran that should not have", filepath.Base(path))
	}
}

// event is any JSON event zrun prints with --output json.
type event struct {
	Type    string            `json:"type"`
	Step    string            `json:"step"`
	Action  string            `json:"action"`
	Status  string            `json:"status"`
	Error   string            `json:"error"`
	Stream  string            `json:"stream"`
	Line    string            `json:"line"`
	Params  map[string]string `json:"params"`
	Outputs map[string]any    `json:"outputs"`
}

// parseEvents decodes --output json's stdout, failing on any line that is
// not a JSON event.
func parseEvents(t *testing.T, stdout string) []event {
	t.Helper()
	var evs []event
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type == "" {
			t.Fatalf("stdout line %d is not a JSON event (%v): %q", i+1, err, line)
		}
		evs = append(evs, e)
	}
	return evs
}

// stepEvent returns the last event of a type for a step.
func stepEvent(evs []event, typ, step string) (event, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ && evs[i].Step == step {
			return evs[i], true
		}
	}
	return event{}, false
}

func runFinished(t *testing.T, evs []event) event {
	t.Helper()
	for _, e := range evs {
		if e.Type == "run_finished" {
			return e
		}
	}
	t.Fatalf("no run_finished event in %+v", evs)
	return event{}
}

// proc is a running process, as /proc shows it.
type proc struct {
	pid     int
	cmdline string // arguments joined by spaces
	cwd     string
}

// procs lists the processes of this user, except this test process.
func procs() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 { // gone, or a zombie
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		out = append(out, proc{pid: pid, cmdline: strings.TrimSpace(strings.ReplaceAll(string(raw), "\x00", " ")), cwd: cwd})
	}
	return out
}

// ours lists the processes a run in dir may have left: anything started
// from binDir or dir, or working in dir (zrun, its plugins, their commands).
func ours(dir string) []proc {
	var out []proc
	for _, p := range procs() {
		if strings.Contains(p.cmdline, binDir) || strings.Contains(p.cmdline, dir) ||
			p.cwd == dir || strings.HasPrefix(p.cwd, dir+string(filepath.Separator)) {
			out = append(out, p)
		}
	}
	return out
}

// wantNoLeftovers fails the test if a process of a run in dir is still
// alive after 2 s. Only serial tests may call it: binDir is shared.
func wantNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	var left []proc
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if left = ours(dir); len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	for _, p := range left {
		t.Errorf("process %d outlived zrun: %s (in %s)", p.pid, p.cmdline, p.cwd)
	}
}

// waitFor polls until cond holds or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// lineWriter splits what zrun writes into lines and hands each to a
// channel as it arrives, keeping them all.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	all   bytes.Buffer
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 1024)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default: // nobody is reading any more: the line is still in all
		}
		w.buf = w.buf[i+1:]
	}
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// Interface guards
var _ io.Writer = (*lineWriter)(nil)
