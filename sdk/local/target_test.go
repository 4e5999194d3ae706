package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk"
)

func TestExec(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		cmd        sdk.Command
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		"success": {
			cmd:        sdk.Command{Args: []string{"sh", "-c", "echo hello"}},
			wantStdout: "hello\n",
		},
		"exit code": {
			cmd:      sdk.Command{Args: []string{"sh", "-c", "exit 3"}},
			wantCode: 3,
		},
		"stderr": {
			cmd:        sdk.Command{Args: []string{"sh", "-c", "echo oops >&2; exit 1"}},
			wantCode:   1,
			wantStderr: "oops\n",
		},
		"killed by signal": {
			cmd:      sdk.Command{Args: []string{"sh", "-c", "kill -9 $$"}},
			wantCode: 128 + 9,
		},
		"env merged over the process environment": {
			cmd: sdk.Command{
				Args: []string{"sh", "-c", `echo "$ZRUN_TEST_A $ZRUN_TEST_B ${PATH:+has-path}"`},
				Env:  map[string]string{"ZRUN_TEST_A": "a", "ZRUN_TEST_B": "b"},
			},
			wantStdout: "a b has-path\n",
		},
		"env overrides": {
			cmd: sdk.Command{
				Args: []string{"sh", "-c", `echo "$HOME"`},
				Env:  map[string]string{"HOME": "/elsewhere"},
			},
			wantStdout: "/elsewhere\n",
		},
		"dir": {
			cmd:        sdk.Command{Args: []string{"pwd"}, Dir: dir},
			wantStdout: dir + "\n",
		},
		"stdin": {
			cmd:        sdk.Command{Args: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("shout\n")},
			wantStdout: "SHOUT\n",
		},
		"argv is not split by a shell": {
			cmd:        sdk.Command{Args: []string{"printf", "%s|", "a b", "$HOME"}},
			wantStdout: "a b|$HOME|",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := tc.cmd
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			res, err := Target().Exec(t.Context(), &cmd)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if res.ExitCode != tc.wantCode {
				t.Errorf("exit code = %d, want %d", res.ExitCode, tc.wantCode)
			}
			if diff := cmp.Diff(tc.wantStdout, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantStderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecErrors(t *testing.T) {
	tests := map[string]struct {
		cmd     *sdk.Command
		wantErr string
	}{
		"not found": {
			cmd:     &sdk.Command{Args: []string{"zrun-no-such-command"}},
			wantErr: `command "zrun-no-such-command" not found`,
		},
		"missing dir": {
			cmd:     &sdk.Command{Args: []string{"true"}, Dir: "/nonexistent/zrun"},
			wantErr: "/nonexistent/zrun",
		},
		"empty": {
			cmd:     &sdk.Command{},
			wantErr: "no command",
		},
		"nil": {
			wantErr: "no command",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Target().Exec(t.Context(), tc.cmd)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestExecStreamsInOrder(t *testing.T) {
	// One writer for both streams shares one pipe, so the interleaving is
	// the order the command wrote in.
	var out bytes.Buffer
	cmd := &sdk.Command{
		Args:   []string{"sh", "-c", "echo 1; echo 2 >&2; echo 3; echo 4 >&2"},
		Stdout: &out,
		Stderr: &out,
	}
	if _, err := Target().Exec(t.Context(), cmd); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("1\n2\n3\n4\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// lineWriter hands each complete line to a channel as it arrives.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func TestExecCancelKillsProcessGroup(t *testing.T) {
	tests := map[string]struct {
		script string
		grace  time.Duration
		// minWait is how long the command must survive cancellation.
		minWait time.Duration
	}{
		"sigterm": {
			script: "sleep 60 & echo $!; wait",
			grace:  time.Minute,
		},
		"sigkill after the grace period": {
			script:  `trap "" TERM; sleep 60 & echo $!; wait; wait`,
			grace:   300 * time.Millisecond,
			minWait: 300 * time.Millisecond,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w := &lineWriter{lines: make(chan string, 10)}
			type result struct {
				res *sdk.ExecResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := Target(WithGracePeriod(tc.grace)).Exec(ctx, &sdk.Command{
					Args: []string{"sh", "-c", tc.script}, Stdout: w,
				})
				done <- result{res, err}
			}()

			// The child's pid arrives while the command still runs: output
			// is streamed, not buffered until exit.
			var child int
			select {
			case line := <-w.lines:
				child, _ = strconv.Atoi(line)
			case r := <-done:
				t.Fatalf("Exec returned before cancellation: %+v", r)
			case <-time.After(5 * time.Second):
				t.Fatal("no output from the command")
			}
			cancelled := time.Now()
			cancel()

			select {
			case r := <-done:
				if !errors.Is(r.err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", r.err)
				}
				if r.res == nil || r.res.ExitCode < 128 {
					t.Errorf("result = %+v, want death by signal", r.res)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Exec did not return after cancellation")
			}
			if waited := time.Since(cancelled); waited < tc.minWait {
				t.Errorf("command stopped after %v, before the grace period %v", waited, tc.minWait)
			}
			waitGone(t, child)
		})
	}
}

// waitGone fails unless process pid disappears (or is a zombie awaiting
// its new parent) soon.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatal("no child pid")
	}
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && f[0] == "Z" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child process %d outlived the cancelled command", pid)
}

func TestExecAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Target().Exec(ctx, &sdk.Command{Args: []string{"true"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestExecBackgroundChildDoesNotBlock(t *testing.T) {
	// A daemonised child keeps stdout open; Exec stops reading after the
	// grace period instead of waiting for it.
	var out bytes.Buffer
	start := time.Now()
	res, err := Target(WithGracePeriod(200*time.Millisecond)).Exec(t.Context(), &sdk.Command{
		Args: []string{"sh", "-c", "echo $$; sleep 3 &"}, Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit code = %d, want 0", res.ExitCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Exec took %v waiting for a background child", d)
	}
	if pgid, _ := strconv.Atoi(strings.TrimSpace(out.String())); pgid > 0 {
		t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	}
}

func TestDial(t *testing.T) {
	tests := map[string]struct {
		network, address string
	}{
		"tcp":  {"tcp", "127.0.0.1:0"},
		"unix": {"unix", filepath.Join(t.TempDir(), "s.sock")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen(tc.network, tc.address)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "echo "+line)
			}()

			conn, err := Target().Dial(t.Context(), ln.Addr().Network(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, "ping\n"); err != nil {
				t.Fatal(err)
			}
			got, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if got != "echo ping\n" {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Target().Dial(t.Context(), "tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestName(t *testing.T) {
	if got := Target().Name(); got != "local" {
		t.Errorf("Name() = %q", got)
	}
}

func TestIsTarget(t *testing.T) {
	if !IsTarget(Target(WithGracePeriod(time.Second))) {
		t.Error("IsTarget(Target()) = false")
	}
	if IsTarget(struct{ sdk.Target }{Target()}) {
		t.Error("IsTarget of a wrapper = true: a target that only looks local must be served, not assumed")
	}
}

func TestWithoutEnv(t *testing.T) {
	t.Setenv("ZRUN_TEST_DROP", "x")
	t.Setenv("ZRUN_TEST_KEEP", "y")
	target := Target(WithoutEnv("ZRUN_TEST_DROP"))
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"dropped":         {want: "drop= keep=y"},
		"set by the step": {env: map[string]string{"ZRUN_TEST_DROP": "z"}, want: "drop=z keep=y"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := target.Exec(t.Context(), &sdk.Command{
				Args: []string{"sh", "-c", `printf 'drop=%s keep=%s' "$ZRUN_TEST_DROP" "$ZRUN_TEST_KEEP"`}, Env: tc.env, Stdout: &out,
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}
