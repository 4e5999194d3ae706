package archive

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// Progress counts the raw bytes, at most twice a second, and ends with
// the whole.
func TestProgress(t *testing.T) {
	size := sized(160 << 20)
	for _, action := range []string{"pack", "unpack"} {
		t.Run(action, func(t *testing.T) {
			var in io.Reader = newMixed(12, size)
			if action == "unpack" {
				pr, pw := io.Pipe()
				go func() {
					_, err := runStreaming(t, "pack", map[string]cty.Value{}, newMixed(12, size), pw)
					pw.CloseWithError(err)
				}()
				in = pr
			}
			ui := &streamUI{UI: sdktest.NewUI(nil, sdk.RunInfo{}), in: in, out: io.Discard}
			start := time.Now()
			if _, err := runStreamingUI(t.Context(), t, action, map[string]cty.Value{}, ui); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			events := ui.Record().Progress
			if max := int(took/progressInterval) + 2; len(events) > max {
				t.Errorf("%d progress events in %v: more than %d", len(events), took, max)
			}
			var last int64
			for _, e := range events {
				if e.Done < last {
					t.Errorf("progress went back from %d to %d", last, e.Done)
				}
				last = e.Done
			}
			if len(events) == 0 || last != size || events[len(events)-1].Total != size {
				t.Errorf("progress ended at %d of %d: %v", last, size, events)
			}
			t.Logf("%d events in %v", len(events), took)
		})
	}
}

// A cancelled step stops at once, even with its input blocked.
func TestCancelled(t *testing.T) {
	for _, action := range []string{"pack", "unpack"} {
		t.Run(action, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = pw.Write([]byte{0x28, 0xb5, 0x2f, 0xfd}) }() // a start, then nothing
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			ui := &streamUI{UI: sdktest.NewUI(nil, sdk.RunInfo{}), in: pr, out: io.Discard}
			start := time.Now()
			_, err := runStreamingUI(ctx, t, action, map[string]cty.Value{}, ui)
			if err == nil || !strings.Contains(err.Error(), "stopped: context deadline exceeded") {
				t.Fatalf("a cancelled step: %v, want its cancellation", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("it took %v to stop", took)
			}
			t.Logf("%v", err)
		})
	}
}
