package plugins_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
)

// stoppedPlugin starts the alpha plugin and stops it (SIGSTOP): a plugin
// that no longer answers.
func stoppedPlugin(t *testing.T) (*plugins.Manager, int) {
	t.Helper()
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	p := pid(t, mustClient(t, m, "alpha"))
	if err := syscall.Kill(p, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(p, syscall.SIGKILL) })
	return m, p
}

func waitDead(t *testing.T, p int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); syscall.Kill(p, 0) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d alive %s later", p, within)
		}
	}
}

// TestStoppedPluginIsReplaced: a call whose ctx ends on a plugin that no
// longer answers kills it, and the next call starts a fresh one instead
// of waiting forever.
func TestStoppedPluginIsReplaced(t *testing.T) {
	m, p := stoppedPlugin(t)
	c := mustClient(t, m, "alpha")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := run(ctx, c, "sleep", cty.ObjectVal(map[string]cty.Value{"seconds": cty.NumberIntVal(30)}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the timed-out call took %s", took)
	}
	waitDead(t, p, 2*time.Second)

	next := make(chan int, 1)
	go func() { next <- pid(t, c) }()
	select {
	case got := <-next:
		if got == p {
			t.Errorf("the next call went to the stopped process %d", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the next call is stuck behind the stopped plugin")
	}
}

// TestCloseKillsStoppedPlugin: Close does not wait forever for a plugin
// that cannot answer its shutdown call.
func TestCloseKillsStoppedPlugin(t *testing.T) {
	m, p := stoppedPlugin(t)
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		m.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close is stuck on a stopped plugin")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %s", took)
	}
	waitDead(t, p, time.Second)
}

// TestUnknownPluginClientIsNil: the client of a plugin that cannot be had
// is a nil interface, so a caller's `c != nil` holds only for a usable one
// (a nil *pluginClient inside it crashed zrun's plugin warm-up).
func TestUnknownPluginClientIsNil(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	c, err := m.Client(t.Context(), "nope")
	if err == nil || c != nil {
		t.Errorf("Client(nope) = %#v, %v; want nil and an error", c, err)
	}
}
