package ssh

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// result is what one action did.
type result struct {
	outputs cty.Value
	diags   sdk.Diagnostics
	sdktest.Record
}

// err returns the step's error diagnostics as one error, or nil.
func (r *result) err() error { return r.diags.Err() }

// wantErr fails t unless the step failed with a diagnostic whose summary
// is summary, at path (nil: any path).
func (r *result) wantErr(t *testing.T, summary string, path cty.Path) sdk.Diagnostic {
	t.Helper()
	for _, d := range r.diags {
		if d.Summary == summary && (path == nil || d.Path.Equals(path)) {
			return d
		}
	}
	t.Fatalf("want a %q diagnostic at %#v, got %#v", summary, path, r.diags)
	return sdk.Diagnostic{}
}

// ok fails t if the step failed.
func (r *result) ok(t *testing.T) *result {
	t.Helper()
	if err := r.err(); err != nil {
		t.Fatalf("step failed: %s\nlogs: %q\nstdout: %q", err, r.Logs, r.Stdout)
	}
	return r
}

func (r *result) str(name string) string   { return r.outputs.GetAttr(name).AsString() }
func (r *result) boolean(name string) bool { return r.outputs.GetAttr(name).True() }
func (r *result) num(name string) int64 {
	n, _ := r.outputs.GetAttr(name).AsBigFloat().Int64()
	return n
}

// step is one action call: its target, step address and streams.
type step struct {
	target sdk.Target
	addr   string
	in     map[string]io.ReadCloser
	out    map[string]io.WriteCloser
}

func onTarget(target sdk.Target) *step { return &step{target: target} }

func localStep() *step { return onTarget(local.Target()) }

// run validates and runs the action as zrun does (through the in-process
// client, which unmarks values and turns errors into diagnostics).
func (s *step) run(t *testing.T, action string, args map[string]any) *result {
	t.Helper()
	p := Plugin()
	client := sdk.InProcess(p)
	argv := sdktest.Args(t, p, action, args)
	all, err := client.ValidateActions(t.Context(), []*sdk.ValidateRequest{{Action: action, Args: argv}})
	if err != nil {
		t.Fatal(err)
	}
	res := &result{diags: all[0]}
	if res.diags.HasErrors() {
		return res
	}
	info := sdk.RunInfo{RunID: "test", Workflow: "test", Env: "test", Step: "step." + action}
	if s.addr != "" {
		info.Step = s.addr
	}
	ui := &streamUI{UI: sdktest.NewUI(s.target, info), in: s.in, out: s.out}
	resp, err := client.RunAction(t.Context(), action, &sdk.RunRequest{Args: argv, Info: info, Target: s.target, UI: ui})
	if err != nil {
		t.Fatal(err)
	}
	res.outputs, res.diags, res.Record = resp.Outputs, append(res.diags, resp.Diagnostics...), ui.Record()
	return res
}

// plan plans the action against the step's target.
func (s *step) plan(t *testing.T, action string, args map[string]any) (*sdk.PlanResponse, sdk.Diagnostics) {
	t.Helper()
	p := Plugin()
	resp, diags, err := sdk.InProcess(p).PlanAction(t.Context(), action, &sdk.PlanRequest{
		Args: sdktest.Args(t, p, action, args), Target: s.target,
		Info: sdk.RunInfo{Step: "step." + action},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp, diags
}

// streamUI is a recording UI whose InputStream and OutputStream serve the
// streams a test set up, as the engine's pipes would.
type streamUI struct {
	*sdktest.UI
	in  map[string]io.ReadCloser
	out map[string]io.WriteCloser
}

func (u *streamUI) InputStream(arg string) (io.ReadCloser, error) { return u.in[arg], nil }

func (u *streamUI) OutputStream(output string) (io.WriteCloser, error) { return u.out[output], nil }

// named is the local target under another name, as a remote host looks
// to a plugin.
type named struct {
	sdk.Target
	name string
}

func (n named) Name() string { return n.name }

// failingOpen is a target whose Open returns a reader that fails after
// limit bytes, as a dropped connection would.
type failingOpen struct {
	sdk.Target
	limit int64
}

func (f failingOpen) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	r, err := f.Target.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(r, f.limit), errReader{errConnDropped}), r}, nil
}

var errConnDropped = errors.New("connection dropped")

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// pipe is an in-memory stream: what the test writes, the step reads.
type pipe struct {
	io.Reader
	mu     sync.Mutex
	closed bool
}

func (p *pipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// buffer is a stream output a test reads after the step.
type buffer struct {
	strings.Builder
	closed bool
}

func (b *buffer) Close() error { b.closed = true; return nil }

// writeTree creates files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns every regular file under dir (slash path → content).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// names lists a folder's entries, to see that no temporary file is left.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return slices.Clip(out)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func perm(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func isRoot() bool { return os.Geteuid() == 0 }
