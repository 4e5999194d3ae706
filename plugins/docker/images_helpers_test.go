package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// testPrefix starts the name of every Docker object these tests create,
// so that the engineers sharing the test engine do not meet.
const testPrefix = "h2-"

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// objectName is a name of this test's own: h2-<test>[-suffix], lowercase.
func objectName(t testing.TB, suffix ...string) string {
	name := testPrefix + nonName.ReplaceAllString(strings.ToLower(t.Name()), "-")
	for _, s := range suffix {
		name += "-" + s
	}
	return strings.Trim(name, "-")
}

// removeImageLater removes ref (a tag or an ID) from the engine when the
// test ends.
func removeImageLater(t testing.TB, c *client.Client, ref string) {
	t.Cleanup(func() {
		_, _ = c.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

// ctxFile is a file of a build context made by a test.
type ctxFile struct {
	data string
	mode os.FileMode // 0644 when 0
	link string      // a symbolic link to this, when set
}

// writeContext makes a build context folder.
func writeContext(t testing.TB, files map[string]ctxFile) string {
	t.Helper()
	dir := t.TempDir()
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.link != "" {
			if err := os.Symlink(f.link, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte(f.data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	return dir
}

// buildImage builds a small image with the docker client itself (not
// docker.build): a Dockerfile and files given in memory, labelled
// zrun.test=1, tagged tag and removed when the test ends.
func buildImage(t testing.TB, sock, tag, dockerfile string, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files["Dockerfile"] = []byte(dockerfile)
	for name, data := range files {
		mode := int64(0o644)
		if strings.HasPrefix(string(data), "\x7fELF") {
			mode = 0o755
		}
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
	}
	_ = tw.Close()
	c := testClient(t, sock)
	resp, err := c.ImageBuild(t.Context(), &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Labels: map[string]string{"zrun.test": "1"}, Remove: true, ForceRemove: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var id string
	err = readEngineMessages(resp.Body, io.Discard, func(aux json.RawMessage) error {
		var m struct{ ID string }
		_ = json.Unmarshal(aux, &m)
		id = m.ID
		return nil
	})
	if err != nil {
		t.Fatalf("building %s: %v", tag, err)
	}
	removeImageLater(t, c, tag)
	return id
}

// testClient is a client of the engine at sock, closed when the test ends.
func testClient(t testing.TB, sock string) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.WithHost("unix://"+sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	toolOnce sync.Once
	toolBin  []byte
	toolErr  error
)

// toolSource is a static program for exec and logs tests (the test images
// are FROM scratch: no shell). Each argument is a command, run in order:
// out:TEXT and err:TEXT write a line to stdout or stderr, lines:N and
// elines:N write "out 1".."out N" or "err 1".."err N", bytes:N writes N
// bytes of stdout, env:NAME prints a variable, pwd and uid print those,
// sleep:D waits, exit:N exits. With no argument it sleeps for ever.
const toolSource = `package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	for len(os.Args) == 1 {
		time.Sleep(time.Hour)
	}
	for _, a := range os.Args[1:] {
		cmd, arg, _ := strings.Cut(a, ":")
		n, _ := strconv.Atoi(arg)
		switch cmd {
		case "out":
			fmt.Println(arg)
		case "err":
			fmt.Fprintln(os.Stderr, arg)
		case "lines":
			for i := 1; i <= n; i++ {
				fmt.Printf("out %d\n", i)
			}
		case "elines":
			for i := 1; i <= n; i++ {
				fmt.Fprintf(os.Stderr, "err %d\n", i)
			}
		case "bytes":
			line := strings.Repeat("x", 99) + "\n"
			for ; n >= 100; n -= 100 {
				os.Stdout.WriteString(line)
			}
			os.Stdout.WriteString(line[:n])
		case "env":
			fmt.Println(os.Getenv(arg))
		case "pwd":
			d, _ := os.Getwd()
			fmt.Println(d)
		case "uid":
			fmt.Println(os.Getuid())
		case "sleep":
			d, _ := time.ParseDuration(arg)
			time.Sleep(d)
		case "exit":
			os.Exit(n)
		}
	}
}
`

// toolImage builds an image holding /tool (toolSource), whose default
// command sleeps for ever.
func toolImage(t testing.TB, sock, tag string) string {
	t.Helper()
	toolOnce.Do(func() {
		dir, err := os.MkdirTemp("", "h2-tool-")
		if err != nil {
			toolErr = err
			return
		}
		defer os.RemoveAll(dir)
		if toolErr = os.WriteFile(filepath.Join(dir, "main.go"), []byte(toolSource), 0o644); toolErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", "tool", "main.go")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			toolErr = errors.New("go build tool: " + err.Error() + "\n" + string(out))
			return
		}
		toolBin, toolErr = os.ReadFile(filepath.Join(dir, "tool"))
	})
	if toolErr != nil {
		t.Fatal(toolErr)
	}
	return buildImage(t, sock, tag, "FROM scratch\nCOPY tool /tool\nENTRYPOINT [\"/tool\"]\n", map[string][]byte{"tool": toolBin})
}

// toolContainer creates and starts a container
// of the tool image running args, removed when the test ends.
func toolContainer(t testing.TB, sock, name string, args ...string) string {
	t.Helper()
	img := toolImage(t, sock, name+":1")
	c := testClient(t, sock)
	created, err := c.ContainerCreate(t.Context(), &container.Config{Image: img, Cmd: args, Labels: map[string]string{"zrun.test": "1"}}, nil, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	if err := c.ContainerStart(t.Context(), created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return created.ID
}

// streamUI is a recording UI whose stream argument reads in and whose
// stream output writes out, as they come: the pipe between two steps
// that zrun makes, made by the test.
type streamUI struct {
	*sdktest.UI
	in     io.Reader
	out    io.Writer
	stdout io.Writer // besides the record, when set
}

func newStreamUI(in io.Reader, out io.Writer) *streamUI {
	return &streamUI{UI: sdktest.NewUI(local.Target(), sdk.RunInfo{RunID: "test", Step: "step.h2"}), in: in, out: out}
}

func (u *streamUI) InputStream(string) (io.ReadCloser, error) {
	if u.in == nil {
		return nil, nil
	}
	return io.NopCloser(u.in), nil
}

func (u *streamUI) OutputStream(string) (io.WriteCloser, error) {
	if u.out == nil {
		return nil, nil
	}
	return nopWriteCloser{u.out}, nil
}

func (u *streamUI) Stdout() io.Writer {
	if u.stdout == nil {
		return u.UI.Stdout()
	}
	return io.MultiWriter(u.UI.Stdout(), u.stdout)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// sdkClient is the plugin served in this process.
func sdkClient() sdk.Client { return sdk.InProcess(Plugin()) }

// planRequest asks for the plan of the action on this machine.
func planRequest(t testing.TB, action string, args map[string]cty.Value) *sdk.PlanRequest {
	return &sdk.PlanRequest{Args: sdktest.Args(t, Plugin(), action, args), Target: local.Target()}
}

// runWith validates and runs an action of the plugin with ui, as zrun
// would.
func runWith(t testing.TB, ctx context.Context, action string, args map[string]cty.Value, ui sdk.UI) (cty.Value, sdk.Diagnostics) {
	t.Helper()
	argv := sdktest.Args(t, Plugin(), action, args)
	client := sdkClient()
	all, err := client.ValidateActions(ctx, []*sdk.ValidateRequest{{Action: action, Args: argv}})
	if err != nil {
		t.Fatal(err)
	}
	if all[0].HasErrors() {
		return cty.NilVal, all[0]
	}
	resp, err := client.RunAction(ctx, action, &sdk.RunRequest{Args: argv, Target: local.Target(), UI: ui})
	if err != nil {
		t.Fatalf("RunAction(%q): %v", action, err)
	}
	return resp.Outputs, resp.Diagnostics
}

// shipResult is what a save piped into a load did.
type shipResult struct {
	save, load           cty.Value
	saveDiags, loadDiags sdk.Diagnostics
}

// ship runs docker.save on the engine at from, piped into docker.load on
// the engine at to, as zrun would pipe them: the load reads the bytes as
// the save writes them, and its stream ends with the save's outcome (an
// error when the save failed). wrap, when set, stands between the save
// and the pipe (a test's way to break it); afterSave, when set, decides
// how the stream ends instead.
func ship(t testing.TB, from, to string, images []string, wrap func(io.Writer) io.Writer, afterSave func(sdk.Diagnostics) error) shipResult {
	t.Helper()
	pr, pw := io.Pipe()
	var w io.Writer = pw
	if wrap != nil {
		w = wrap(pw)
	}
	var res shipResult
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		refs := make([]cty.Value, len(images))
		for i, img := range images {
			refs[i] = cty.StringVal(img)
		}
		res.save, res.saveDiags = runWith(t, t.Context(), "save", map[string]cty.Value{
			"images": cty.ListVal(refs), "socket": cty.StringVal(from),
		}, newStreamUI(nil, w))
		end := res.saveDiags.Err()
		if afterSave != nil {
			end = afterSave(res.saveDiags)
		}
		// The SDK's stream: EOF once its producer succeeded, else its error.
		pw.CloseWithError(end)
	}()
	res.load, res.loadDiags = runWith(t, t.Context(), "load", map[string]cty.Value{
		"from": cty.StringVal("step.save.stream"), "socket": cty.StringVal(to),
	}, newStreamUI(pr, nil))
	pr.CloseWithError(errors.New("the load ended")) // a load that stopped reading stops the save
	<-saved
	return res
}

// heapPeak samples the process's HeapInuse until stop is called, and
// returns its peak above what it was at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		if peak < base {
			return 0
		}
		return peak - base
	}
}

// imageFiles lists the files of an image, from its layers as docker save
// writes them (the test images are FROM scratch: nothing to run ls with).
func imageFiles(t testing.TB, c *client.Client, ref string) map[string]*tar.Header {
	t.Helper()
	body, err := c.ImageSave(t.Context(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	layers := map[string][]byte{}
	var manifest []struct{ Layers []string }
	eachTarEntry(t, body, func(hdr *tar.Header, data []byte) {
		if hdr.Name == "manifest.json" {
			if err := json.Unmarshal(data, &manifest); err != nil {
				t.Fatal(err)
			}
		} else if strings.HasSuffix(hdr.Name, ".tar") {
			layers[hdr.Name] = data
		}
	})
	if len(manifest) != 1 {
		t.Fatalf("the archive of %s has %d manifests", ref, len(manifest))
	}
	files := map[string]*tar.Header{}
	for _, l := range manifest[0].Layers {
		eachTarEntry(t, bytes.NewReader(layers[l]), func(hdr *tar.Header, _ []byte) {
			files["/"+strings.TrimSuffix(hdr.Name, "/")] = hdr
		})
	}
	return files
}

// eachTarEntry calls fn with each entry of a tar and its content.
func eachTarEntry(t testing.TB, r io.Reader, fn func(*tar.Header, []byte)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		fn(hdr, data)
	}
}

// stringList is a cty list of strings.
func stringList(ss ...string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

// listStrings is the strings of a cty list.
func listStrings(v cty.Value) []string {
	var out []string
	if v.IsNull() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}
