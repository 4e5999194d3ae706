package plugins_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins"
)

// The steps a plugin runs share one stream (sdk/rpc, Run): these check
// that a step's cancellation and a plugin's crash still reach exactly the
// steps they concern, on a real plugin process.

func sleepArgs(seconds float64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"seconds": cty.NumberFloatVal(seconds)})
}

func TestCancelReachesOnlyThatStep(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(t, m, "alpha")
	pid(t, c) // the plugin is up
	ctx, cancel := context.WithCancel(t.Context())
	cancelled, other := make(chan error, 1), make(chan error, 1)
	go func() { _, err := run(ctx, c, "sleep", sleepArgs(30)); cancelled <- err }()
	go func() { _, err := run(t.Context(), c, "sleep", sleepArgs(0.5)); other <- err }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled step: got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled step did not end")
	}
	select {
	case err := <-other:
		if err != nil {
			t.Errorf("the other step: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other step did not end")
	}
}

func TestCrashFailsStepsInFlight(t *testing.T) {
	m := newManager(t, plugins.Options{Builtins: builtins("alpha")})
	c := mustClient(t, m, "alpha")
	pid(t, c)
	errs := make(chan error, 3)
	for range 2 {
		go func() { _, err := run(t.Context(), c, "sleep", sleepArgs(30)); errs <- err }()
	}
	time.Sleep(100 * time.Millisecond)
	go func() { _, err := run(t.Context(), c, "crash", cty.EmptyObjectVal); errs <- err }()
	for range 3 {
		var err error
		select {
		case err = <-errs:
		case <-time.After(10 * time.Second):
			t.Fatal("a step in flight did not end with the crash")
		}
		if err == nil {
			t.Fatal("a step in flight survived the crash")
		}
		for _, want := range []string{`plugin "alpha"`, "exited unexpectedly while running alpha.", "crash requested by the test"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	}
	pid(t, c) // the next step starts the plugin again
	if got := m.Starts()["alpha"]; got != 2 {
		t.Errorf("starts after a crash: got %d, want 2", got)
	}
}
