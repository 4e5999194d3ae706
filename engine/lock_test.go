package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/engine/state/boltstore"
	"github.com/zrun-dev/zrun/sdk"
)

// TestRunLocks: runs of one environment exclude each other; a workflow
// with its own lock key does not block, nor is blocked by, the others.
func TestRunLocks(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	m := newMock()
	started := make(chan struct{})
	m.actions["sleep"].RunActionFn = func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	cfg := project(t, map[string]string{"workflows/w.hcl": `
workflow "hold" {
  step "s" {
    action = mock.sleep
  }
}
workflow "deploy" {
  step "s" {
    action = mock.echo
  }
}
workflow "backup" {
  lock = "backup"
  step "s" {
    action = mock.echo
  }
}`})
	r := New(Options{Config: cfg, Plugins: m, Sink: events.Discard, Ledger: store})
	ctx, cancel := context.WithCancel(t.Context())
	holdDone := make(chan *RunResult)
	go func() {
		res, _ := r.Run(ctx, RunRequest{Workflow: "hold"})
		holdDone <- res
	}()
	<-started

	_, diags := r.Run(t.Context(), RunRequest{Workflow: "deploy"})
	if !HasLockFailure(diags) || !strings.Contains(diags.Error(), "locked by run") {
		t.Errorf("deploy beside hold: %v", diags)
	}
	res, diags := r.Run(t.Context(), RunRequest{Workflow: "backup"})
	if diags.HasErrors() || res.Status != events.StatusOK {
		t.Errorf("backup has its own lock but: %v %v", diags, res)
	}

	waited := make(chan error)
	go func() {
		res, diags := r.Run(t.Context(), RunRequest{Workflow: "deploy", LockWait: 10 * time.Second})
		if diags.HasErrors() {
			waited <- diags
			return
		}
		if res.Status != events.StatusOK {
			waited <- context.Canceled
			return
		}
		waited <- nil
	}()
	time.Sleep(100 * time.Millisecond)
	cancel() // the holder ends, releasing the lock
	if res := <-holdDone; res.Status != events.StatusCancelled {
		t.Errorf("hold: %s", res.Status)
	}
	if err := <-waited; err != nil {
		t.Errorf("deploy with --lock-wait: %v", err)
	}
}
