package rpc_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// writer is an action that writes the given chunks to stdout and stderr,
// logs and reports progress with the given message.
func writer(chunks [][]byte, message string) sdk.Action {
	return &action{
		schema: &schema.Action{Name: "write"},
		run: func(_ context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
			for _, c := range chunks {
				if _, err := req.UI.Stdout().Write(c); err != nil {
					return nil, err
				}
				if _, err := req.UI.Stderr().Write(c); err != nil {
					return nil, err
				}
			}
			req.UI.Logf("%s", message)
			req.UI.Progress(1, 1, message)
			return nil, nil
		},
	}
}

// TestRunActionOutputIsBytes sends output that is not text over the real
// wire: it arrives byte for byte, whatever it holds, and the step does
// not fail for it.
func TestRunActionOutputIsBytes(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 200<<10) // a 200 KiB line with no newline
	tests := map[string]struct {
		chunks  [][]byte
		message string
		// wantProgress is the progress message the host gets: a protobuf
		// string, so invalid UTF-8 in it is replaced.
		wantProgress string
	}{
		"latin-1":                  {chunks: [][]byte{[]byte("caf\xe9 cr\xe8me\n")}, message: "d\xe9j\xe0", wantProgress: "d\uFFFDj\uFFFD"},
		"binary with NUL bytes":    {chunks: [][]byte{{0, 1, 2, 0xff, 0xfe, '\n', 0}, {0x80, 0}}, message: "nul\x00byte", wantProgress: "nul\x00byte"},
		"a rune cut across writes": {chunks: [][]byte{[]byte("\xe2\x82"), []byte("\xac\n")}, message: "€", wantProgress: "€"},
		"a long line unsplit":      {chunks: [][]byte{long, []byte("end")}, message: "ok", wantProgress: "ok"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := sdktest.Run(t, testPlugin(writer(tc.chunks, tc.message)), "write", nil, sdktest.OverGRPC())
			if res.Diagnostics.HasErrors() {
				t.Fatal(res.Diagnostics.Err())
			}
			want := string(bytes.Join(tc.chunks, nil))
			if res.Record.Stdout != want || res.Record.Stderr != want {
				t.Errorf("stdout %q, stderr %q, want %q each", abbrev(res.Record.Stdout), abbrev(res.Record.Stderr), abbrev(want))
			}
			if len(res.Record.Logs) != 1 || res.Record.Logs[0] != tc.message {
				t.Errorf("logs %q, want [%q]", res.Record.Logs, tc.message)
			}
			if p := res.Record.Progress; len(p) != 1 || p[0].Message != tc.wantProgress {
				t.Errorf("progress %+v, want message %q", p, tc.wantProgress)
			}
		})
	}
}

func abbrev(s string) string {
	if len(s) > 100 {
		return s[:50] + "..." + s[len(s)-50:] + " (long)"
	}
	return s
}
