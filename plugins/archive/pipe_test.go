package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// outcome is how a step of the pipe test ended, once it has.
type outcome struct {
	done chan struct{}
	err  error
}

func newOutcome() *outcome { return &outcome{done: make(chan struct{})} }

func (o *outcome) settle(err error) { o.err = err; close(o.done) }

func (o *outcome) wait(ctx context.Context) error {
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// hostUI is a host's UI with pipes, as zrun's engine gives a step.
type hostUI struct {
	*sdktest.UI
	ends *pipe.Ends
}

func (u *hostUI) PipeEnds() *pipe.Ends { return u.ends }

// pipeline runs dump -> archive.pack -> archive.unpack -> restore through
// zrun's pipes, the plugin served over gRPC: the test is the dump (it
// writes data, then ends with dumpErr) and the restore (it reads what
// unpack gives). It returns what the restore read and its read's error,
// and the two steps' outputs and errors.
type pipelineResult struct {
	restored           []byte
	restoreErr         error
	pack, unpack       cty.Value
	packErr, unpackErr error
}

func pipeline(t *testing.T, data []byte, dumpErr error, packArgs, unpackArgs map[string]cty.Value) pipelineResult {
	t.Helper()
	client := sdktest.GRPC(t, Plugin())
	dir, err := os.MkdirTemp("", "h7-pipe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	dumped, packedAddr, unpacked := filepath.Join(dir, "dump"), filepath.Join(dir, "pack"), filepath.Join(dir, "unpack")
	dump, packed, unpackDone := newOutcome(), newOutcome(), newOutcome()
	var res pipelineResult

	go func() {
		w, err := pipe.Dial(t.Context(), dumped)
		if err == nil {
			_, err = io.Copy(w, bytes.NewReader(data))
			_ = w.Close()
		}
		dump.settle(errors.Join(err, dumpErr))
	}()
	step := func(name, from, to string, producer *outcome, args map[string]cty.Value, out *cty.Value, outErr *error, done *outcome) {
		all := map[string]cty.Value{"from": cty.StringVal(from)}
		for k, v := range args {
			all[k] = v
		}
		ui := &hostUI{UI: sdktest.NewUI(nil, sdk.RunInfo{Step: "step." + name}), ends: &pipe.Ends{
			Inputs: map[string]string{"from": from}, Outputs: map[string]string{"stream": to},
			Result: func(ctx context.Context, _ string) error { return producer.wait(ctx) },
		}}
		resp, err := client.RunAction(t.Context(), name, &sdk.RunRequest{Args: sdktest.Args(t, Plugin(), name, all), Info: ui.Info(), UI: ui})
		switch {
		case err != nil:
			*outErr = err
		case resp.Diagnostics.HasErrors():
			*outErr = fmt.Errorf("step.%s failed: %w", name, resp.Diagnostics.Err())
		default:
			*out = resp.Outputs
		}
		done.settle(*outErr)
	}
	go step("pack", dumped, packedAddr, dump, packArgs, &res.pack, &res.packErr, packed)
	go step("unpack", packedAddr, unpacked, packed, unpackArgs, &res.unpack, &res.unpackErr, unpackDone)

	r, err := pipe.Listen(t.Context(), unpacked, unpackDone.wait)
	if err == nil {
		res.restored, res.restoreErr = io.ReadAll(r)
		_ = r.Close()
	} else {
		res.restoreErr = err
	}
	<-packed.done
	<-unpackDone.done
	return res
}

// Through real pipes and the plugin's gRPC server: the restore gets the
// dump's bytes when all went well, and an error instead of the end of
// its stream when a check of unpack's, or the dump, failed.
func TestPipeline(t *testing.T) {
	data := mixedBytes(t, 8, sized(24<<20))
	k := newKeys(t)
	enc := map[string]cty.Value{"recipients": strs(k.public)}
	dec := map[string]cty.Value{"identity": cty.StringVal(k.secret)}

	t.Run("all well", func(t *testing.T) {
		res := pipeline(t, data, nil, enc, dec)
		if err := errors.Join(res.packErr, res.unpackErr, res.restoreErr); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.restored, data) {
			t.Fatalf("the restore read %d bytes, not the %d dumped", len(res.restored), len(data))
		}
		if !res.pack.GetAttr("sha256").RawEquals(res.unpack.GetAttr("sha256")) || res.unpack.GetAttr("raw_sha256").AsString() != sha(data) {
			t.Errorf("pack %#v, unpack %#v", res.pack, res.unpack)
		}
	})
	t.Run("the manifest's sha256 differs", func(t *testing.T) {
		wrong := map[string]cty.Value{"identity": cty.StringVal(k.secret), "sha256": cty.StringVal(strings.Repeat("00", 32))}
		res := pipeline(t, data, nil, enc, wrong)
		if res.packErr != nil {
			t.Fatal(res.packErr)
		}
		if res.unpackErr == nil || !strings.Contains(res.unpackErr.Error(), "expected") {
			t.Fatalf("unpack: %v, want its sha256 check's failure", res.unpackErr)
		}
		if res.restoreErr == nil || !strings.Contains(res.restoreErr.Error(), "step.unpack failed") {
			t.Fatalf("the restore's read ended with %v, want unpack's failure", res.restoreErr)
		}
		if len(res.restored) > len(data)-holdbackSize {
			t.Errorf("the restore read %d of %d bytes", len(res.restored), len(data))
		}
	})
	t.Run("the dump fails at its end", func(t *testing.T) {
		res := pipeline(t, data, errDumpDied, enc, dec)
		for name, err := range map[string]error{"pack": res.packErr, "unpack": res.unpackErr, "restore": res.restoreErr} {
			if err == nil {
				t.Errorf("%s succeeded after the dump failed", name)
			}
		}
		if res.packErr != nil && !strings.Contains(res.packErr.Error(), errDumpDied.Error()) {
			t.Errorf("pack: %v, want the dump's failure", res.packErr)
		}
		if res.restoreErr != nil && !strings.Contains(res.restoreErr.Error(), "step.unpack failed") {
			t.Errorf("the restore: %v, want unpack's failure", res.restoreErr)
		}
		t.Logf("pack: %v\nunpack: %v\nrestore: %v", res.packErr, res.unpackErr, res.restoreErr)
	})
}
