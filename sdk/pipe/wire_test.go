package pipe_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/pipe"
	"github.com/zrun-dev/zrun/sdk/schema"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// streamAction is an action whose Run the test writes.
type streamAction struct {
	s   *schema.Action
	run func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error)
}

func (a *streamAction) Schema() *schema.Action { return a.s }
func (a *streamAction) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	return a.run(ctx, req)
}

// hostUI is a host's UI with pipes, as zrun's engine has.
type hostUI struct {
	*sdktest.UI
	ends *pipe.Ends
}

func (u *hostUI) PipeEnds() *pipe.Ends { return u.ends }

// TestOverGRPC runs a producer and a consumer in a plugin served over
// gRPC: the plugin connects the pipe itself, and asks the host how the
// producer ended (stream_wait, stream_result) on the Run stream.
func TestOverGRPC(t *testing.T) {
	for name, fail := range map[string]bool{"the producer succeeds": false, "the producer fails": true} {
		t.Run(name, func(t *testing.T) {
			p := &sdk.Plugin{Name: "p", Version: "1.0.0", Actions: []sdk.Action{
				&streamAction{
					s: &schema.Action{Name: "produce", Outputs: []*schema.Attribute{{Name: "stream", Type: cty.String, Stream: true}}},
					run: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
						w, err := req.UI.OutputStream("stream")
						if err != nil || w == nil {
							return nil, errors.Join(err, errors.New("no stream"))
						}
						_, _ = io.WriteString(w, "through the plugin")
						_ = w.Close()
						if fail {
							return nil, errors.New("boom")
						}
						return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"stream": cty.NullVal(cty.String)})}, nil
					},
				},
				&streamAction{
					s: &schema.Action{Name: "consume", Args: []*schema.Attribute{{Name: "from", Type: cty.String, Stream: true}},
						Outputs: []*schema.Attribute{{Name: "got", Type: cty.String}}},
					run: func(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
						r, err := req.UI.InputStream("from")
						if err != nil {
							return nil, err
						}
						data, err := io.ReadAll(r)
						if err != nil {
							return nil, err
						}
						return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{"got": cty.StringVal(string(data))})}, nil
					},
				},
			}}
			client := sdktest.GRPC(t, p)
			dir, err := os.MkdirTemp("", "pipe-test-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			addr := filepath.Join(dir, "0")
			settled := make(chan struct{})
			var outcome error
			result := func(ctx context.Context, _ string) error {
				select {
				case <-settled:
					return outcome
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			done := make(chan error, 1)
			go func() {
				ui := &hostUI{UI: sdktest.NewUI(nil, sdk.RunInfo{}), ends: &pipe.Ends{Outputs: map[string]string{"stream": addr}}}
				resp, err := client.RunAction(t.Context(), "produce", &sdk.RunRequest{Args: cty.EmptyObjectVal, UI: ui})
				if err == nil && resp.Diagnostics.HasErrors() {
					outcome = errors.New("step.produce failed: " + resp.Diagnostics.Err().Error())
				}
				close(settled)
				done <- err
			}()
			ui := &hostUI{UI: sdktest.NewUI(nil, sdk.RunInfo{}), ends: &pipe.Ends{Inputs: map[string]string{"from": addr}, Result: result}}
			resp, err := client.RunAction(t.Context(), "consume", &sdk.RunRequest{
				Args: cty.ObjectVal(map[string]cty.Value{"from": cty.StringVal(addr)}), UI: ui})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if fail {
				if err := resp.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), "step.produce failed") {
					t.Fatalf("consumer: %v, want the producer's failure", err)
				}
				return
			}
			if err := resp.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			if got := resp.Outputs.GetAttr("got").AsString(); got != "through the plugin" {
				t.Errorf("got %q", got)
			}
		})
	}
}
