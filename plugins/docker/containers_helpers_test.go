package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// ctrEnv is one test's share of the test engine: its socket, a client,
// and a name prefix ("h4-" and the test's name) for everything it makes,
// all of which is removed when the test ends.
type ctrEnv struct {
	t      *testing.T
	sock   string
	c      *client.Client
	prefix string
	images []string // tags, removed once the containers are
}

var ctrNameChars = regexp.MustCompile(`[^a-z0-9]+`)

func newCtrEnv(t *testing.T) *ctrEnv {
	t.Helper()
	sock := dockertest.Socket(t)
	e := &ctrEnv{t: t, sock: sock, c: dockertest.Client(t, sock),
		prefix: "h4-" + strings.Trim(ctrNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")}
	// Registered first, so run last: after every container is gone.
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		for _, tag := range e.images {
			// Its parents are the build cache every test of the app
			// image shares: they stay.
			_, err := e.c.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: false})
			if err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("removing image %s: %v", tag, err)
			}
		}
	})
	return e
}

// name is a container, network or volume name of the test's own; the
// containers of a replacement under it are removed at the end too.
func (e *ctrEnv) name(what string) string {
	n := e.prefix + "-" + what
	e.t.Cleanup(func() {
		ctx := context.WithoutCancel(e.t.Context())
		names := []string{n, n + candidateSuffix, n + oldSuffix}
		kept, err := keptContainers(ctx, e.c, n)
		if err != nil {
			e.t.Errorf("listing the kept containers of %s: %v", n, err)
		}
		for _, k := range kept {
			names = append(names, k.Name[1:])
		}
		for _, c := range names {
			if ins, err := e.c.ContainerInspect(ctx, c); err == nil && ins.Name == "/"+c {
				e.c.ContainerRemove(ctx, ins.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			}
		}
	})
	return n
}

// image builds the example app's image, the test's own (extra Dockerfile
// lines make another), and returns its tag and ID.
func (e *ctrEnv) image(extra ...string) (tag, id string) {
	e.t.Helper()
	tag = fmt.Sprintf("%s:%d", e.prefix, len(e.images)+1)
	e.images = append(e.images, tag)
	// The label makes the image the test's own: the builder's cache would
	// otherwise hand every test (and other packages' tests) one image,
	// which one's cleanup could delete under another's build.
	return tag, dockertest.Image(e.t, e.sock, tag, append([]string{"LABEL h1.test=" + e.prefix}, extra...)...)
}

// network makes a user-defined bridge network with docker.network.
func (e *ctrEnv) network() string {
	e.t.Helper()
	n := e.prefix + "-net"
	e.t.Cleanup(func() {
		if err := e.c.NetworkRemove(context.WithoutCancel(e.t.Context()), n); err != nil && !cerrdefs.IsNotFound(err) {
			e.t.Errorf("removing network %s: %v", n, err)
		}
	})
	e.ok(e.run("network", map[string]any{"name": n}))
	return n
}

// run runs the action on this machine's target against the test engine.
func (e *ctrEnv) run(action string, args map[string]any, opts ...sdktest.Option) *sdktest.Result {
	e.t.Helper()
	args["socket"] = e.sock
	return sdktest.Run(e.t, Plugin(), action, args, append([]sdktest.Option{sdktest.WithTarget(local.Target())}, opts...)...)
}

// ok fails the test unless the step succeeded, and returns its outputs.
func (e *ctrEnv) ok(res *sdktest.Result) cty.Value {
	e.t.Helper()
	if err := res.Diagnostics.Err(); err != nil {
		e.t.Fatalf("step failed: %s\nlogs: %q", err, res.Logs)
	}
	return res.Outputs
}

// fails fails the test unless the step failed, and returns its error.
func (e *ctrEnv) fails(res *sdktest.Result) string {
	e.t.Helper()
	err := res.Diagnostics.Err()
	if err == nil {
		e.t.Fatalf("the step succeeded; want it to fail\nlogs: %q", res.Logs)
	}
	return err.Error()
}

// plan plans the action on this machine's target against the test engine.
func (e *ctrEnv) plan(action string, args map[string]any) *sdk.PlanResponse {
	e.t.Helper()
	resp, err := e.planErr(action, args)
	if err != nil {
		e.t.Fatalf("plan: %s", err)
	}
	return resp
}

// planErr is plan returning the plan's error, in the environment "test".
func (e *ctrEnv) planErr(action string, args map[string]any) (*sdk.PlanResponse, error) {
	e.t.Helper()
	args["socket"] = e.sock
	p := Plugin()
	resp, diags, err := sdk.InProcess(p).PlanAction(e.t.Context(), action, &sdk.PlanRequest{
		Args: sdktest.Args(e.t, p, action, args), Target: local.Target(), Info: sdk.RunInfo{Env: "test", Step: "step." + action},
	})
	if err == nil {
		err = diags.Err()
	}
	return resp, err
}

// inspect is the container called name, nil if there is none.
func (e *ctrEnv) inspect(name string) *container.InspectResponse {
	e.t.Helper()
	ins, err := e.c.ContainerInspect(e.t.Context(), name)
	if cerrdefs.IsNotFound(err) || err == nil && ins.Name != "/"+name {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return &ins
}

// gone fails the test if any of the named containers (or the container
// with that ID) exists.
func (e *ctrEnv) gone(refs ...string) {
	e.t.Helper()
	for _, ref := range refs {
		if _, err := e.c.ContainerInspect(e.t.Context(), ref); !cerrdefs.IsNotFound(err) {
			e.t.Errorf("container %s is still there (inspect: %v)", ref, err)
		}
	}
}

// kept fails the test unless the container id is NAME's kept container:
// called NAME--zrun-kept-<12 hex>, stopped, restart policy "no", on no
// network.
func (e *ctrEnv) kept(name, id string) *container.InspectResponse {
	e.t.Helper()
	ins := e.inspect(keepName(name, id))
	if ins == nil || ins.ID != id {
		e.t.Fatalf("container %s is not kept as %s: %+v", shortID(id), keepName(name, id), ins)
	}
	if ins.State.Running || ins.HostConfig.RestartPolicy.Name != container.RestartPolicyDisabled || len(ins.NetworkSettings.Networks) != 0 {
		e.t.Errorf("kept container %s: running %v, restart %q, networks %v; want stopped, \"no\", none",
			ins.Name, ins.State.Running, ins.HostConfig.RestartPolicy.Name, ins.NetworkSettings.Networks)
	}
	return ins
}

// ipOf is the container's IP address on network.
func (e *ctrEnv) ipOf(name, network string) string {
	e.t.Helper()
	ins := e.inspect(name)
	if ins == nil {
		e.t.Fatalf("no container %s", name)
	}
	ip := ipOn(*ins, network)
	if ip == "" {
		e.t.Fatalf("container %s has no IP address on %s", name, network)
	}
	return ip
}

// appVersion is the VERSION the example app at base (http://IP:PORT)
// reports.
func (e *ctrEnv) appVersion(base string) string {
	t := e.t
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.Version
}

// hammer GETs url every 20 ms until stop is called, which returns how
// many requests were made and how many failed (with the first failure).
func (e *ctrEnv) hammer(url string) (stop func() (total, failed int64, first string)) {
	var total, failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			total.Add(1)
			resp, err := c.Get(url)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("%s", resp.Status)
				}
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}
	}()
	return func() (int64, int64, string) {
		close(done)
		wg.Wait()
		first, _ := firstErr.Load().(string)
		return total.Load(), failed.Load(), first
	}
}

// freePort is a TCP port free on 127.0.0.1 just now.
func (e *ctrEnv) freePort() int {
	t := e.t
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// str is a string output.
func (e *ctrEnv) str(v cty.Value, attr string) string { return v.GetAttr(attr).AsString() }

// ctrPtr is a pointer to v, for an optional argument.
func ctrPtr[T any](v T) *T { return &v }

// ui is a recording UI of a step at addr on this machine.
func (e *ctrEnv) ui(addr string) *sdktest.UI {
	return sdktest.NewUI(local.Target(), sdk.RunInfo{RunID: "test", Workflow: "test", Env: "test", Step: addr})
}

// withSocket is a with the test engine's socket.
func (e *ctrEnv) withSocket(a containerArgs) containerArgs {
	a.Socket = &e.sock
	return a
}

// deployment is what runContainer would run for a, for a test to change
// (its gate) before it runs.
func (e *ctrEnv) deployment(a containerArgs, ui sdk.UI) *deployment {
	e.t.Helper()
	want, diags := parseContainer(a, sdk.Known{})
	if diags.HasErrors() {
		e.t.Fatal(diags.Err())
	}
	c, err := connect(e.t.Context(), local.Target(), &e.sock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if want.spec.Image, err = containerImageID(e.t.Context(), c, ui, a.Image, false); err != nil || want.spec.Image == "" {
		e.t.Fatalf("image %s: %v", a.Image, err)
	}
	return newDeployment(c, ui, want)
}
