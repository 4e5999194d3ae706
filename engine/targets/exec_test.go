package targets_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/sdk"
)

func TestExec(t *testing.T) {
	tg, _ := target(t)
	tricky := []string{"", "a b", "it's", `"dq"`, "$HOME", "`id`", "a\nb", "*", "\\", "-n", "x;y", "ünï"}
	tests := map[string]struct {
		cmd            sdk.Command
		code           int
		stdout, stderr string
	}{
		"exit 0":    {cmd: sdk.Command{Args: []string{"true"}}},
		"exit code": {cmd: sdk.Command{Args: []string{"sh", "-c", "exit 42"}}, code: 42},
		"stderr":    {cmd: sdk.Command{Args: []string{"sh", "-c", "echo out; echo err >&2"}}, stdout: "out\n", stderr: "err\n"},
		"stdin":     {cmd: sdk.Command{Args: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("hello")}, stdout: "HELLO"},
		"env":       {cmd: sdk.Command{Args: []string{"sh", "-c", `printf '%s|%s' "$A" "$B"`}, Env: map[string]string{"A": "it's a $test", "B": "2"}}, stdout: "it's a $test|2"},
		"dir":       {cmd: sdk.Command{Args: []string{"pwd"}, Dir: "/tmp"}, stdout: "/tmp\n"},
		"quoting":   {cmd: sdk.Command{Args: append([]string{"printf", "[%s]"}, tricky...)}, stdout: "[" + strings.Join(tricky, "][") + "]"},
		"not found": {cmd: sdk.Command{Args: []string{"no-such-program-zrun"}}, code: 127},
		"killed":    {cmd: sdk.Command{Args: []string{"sh", "-c", "kill -9 $$"}}, code: 137},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := tc.cmd
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			res := run(t.Context(), t, tg, &cmd)
			if res.ExitCode != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", res.ExitCode, tc.code, stderr.String())
			}
			if diff := cmp.Diff(tc.stdout, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if tc.stderr != "" && stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}

func TestExecBadEnvName(t *testing.T) {
	tg, _ := target(t)
	_, err := tg.Exec(t.Context(), &sdk.Command{Args: []string{"true"}, Env: map[string]string{"A B": "x"}})
	if err == nil || !strings.Contains(err.Error(), `"A B" is not valid`) {
		t.Fatalf("err = %v, want the bad name said", err)
	}
}

// TestExecSudo runs a command through sudo -n: as root it succeeds where
// sudo is installed; where it is not, stderr says so in words.
func TestExecSudo(t *testing.T) {
	tg, _ := target(t)
	var stdout, stderr bytes.Buffer
	res := run(t.Context(), t, tg, &sdk.Command{Args: []string{"id", "-u"}, Sudo: true, Stdout: &stdout, Stderr: &stderr})
	switch {
	case res.ExitCode == 0:
		if got := strings.TrimSpace(stdout.String()); got != "0" {
			t.Errorf("id -u through sudo = %q, want 0", got)
		}
	case res.ExitCode == 127:
		if !strings.Contains(stderr.String(), "sudo is not installed on this host") {
			t.Errorf("stderr %q does not say sudo is missing", stderr.String())
		}
	default:
		t.Logf("sudo -n failed (exit %d): %s", res.ExitCode, stderr.String())
	}
}

func TestExecCancelKills(t *testing.T) {
	tg, s := target(t)
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	go func() {
		<-started
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	close(started)
	begin := time.Now()
	_, err := tg.Exec(ctx, &sdk.Command{Args: []string{"sleep", "6001"}})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if time.Since(begin) > 5*time.Second {
		t.Errorf("cancel took %s", time.Since(begin))
	}
	// The remote sleep is gone, not left running.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out bytes.Buffer
		run(t.Context(), t, tg, &sdk.Command{Args: []string{"sh", "-c", "pgrep -x -f 'sleep 6001' || true"}, Stdout: &out})
		if out.Len() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleep 6001 still runs on %s: %s", s.Addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExecStdinNeverEnding(t *testing.T) {
	tg, _ := target(t)
	// A stdin that never ends must not hold Exec once the command exits.
	r, w := io.Pipe()
	defer w.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}, Stdin: r})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Exec waited for its stdin to end")
	}
}

// TestExecNewConnection: a command with NewConnection logs in anew (the
// server counts a second login) and fails once new logins are refused,
// while the run's own connection still works.
func TestExecNewConnection(t *testing.T) {
	tg, s := target(t)
	run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}})
	before := s.Logins()
	var out bytes.Buffer
	if res := run(t.Context(), t, tg, &sdk.Command{Args: []string{"echo", "fresh"}, NewConnection: true, Stdout: &out}); res.ExitCode != 0 || out.String() != "fresh\n" {
		t.Fatalf("exit %d, stdout %q", res.ExitCode, out.String())
	}
	if got := s.Logins(); got != before+1 {
		t.Fatalf("%d logins after a command on a new connection, want %d", got, before+1)
	}
	run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}})
	if got := s.Logins(); got != before+1 {
		t.Fatalf("the pooled connection logged in again (%d logins, want %d)", got, before+1)
	}

	// No key is accepted any more: a new login fails, the old connection goes on.
	if err := os.WriteFile(filepath.Join(s.Dir, "authorized_keys"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := tg.Exec(t.Context(), &sdk.Command{Args: []string{"true"}, NewConnection: true})
	if err == nil || !strings.Contains(err.Error(), "new connection") {
		t.Fatalf("a new login that the server refuses: err %v, want one about the new connection", err)
	}
	if res := run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}}); res.ExitCode != 0 {
		t.Fatalf("the run's connection: exit %d", res.ExitCode)
	}
}
