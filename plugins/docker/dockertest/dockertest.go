// Package dockertest gives the docker plugin's tests a real Docker Engine:
// the one testdata/docker.sh starts (or any engine named by
// ZRUN_TEST_DOCKER), and the example stack's image built FROM scratch on
// it. Locally a test skips when no engine is given, naming the command
// that starts one; under CI=true it fails.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// Socket is the test engine's unix socket path (ZRUN_TEST_DOCKER).
func Socket(t testing.TB) string {
	return socket(t, "ZRUN_TEST_DOCKER", "")
}

// ServerSocket is the socket of the second engine that stands for a
// server (ZRUN_TEST_DOCKER_SERVER): its own data root and network
// namespace, reached from this one at ServerAddr.
func ServerSocket(t testing.TB) string {
	return socket(t, "ZRUN_TEST_DOCKER_SERVER", " server")
}

// ServerAddr is the address of the server engine's network namespace, as
// seen from this one (testdata/docker.sh server's veth pair).
const ServerAddr = "10.251.0.2"

// HostAddr is this network namespace's address on the same link, which
// the server engine reaches.
const HostAddr = "10.251.0.1"

func socket(t testing.TB, name, arg string) string {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		msg := "no Docker Engine for this test: export " + name + "=$(bash testdata/docker.sh" + arg + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.TrimPrefix(s, "unix://")
}

// Client is a client of the engine at socket, the API version negotiated.
func Client(t testing.TB, socket string) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.WithHost("unix://"+socket), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Root is the repository's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// AppContext is a build context folder of the example stack's image: its
// Dockerfile and the static binary of testdata/stack/app, built once per
// test process.
func AppContext(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "zrun-app-")
		if binErr != nil {
			return
		}
		// A module of its own, as a team's service would be.
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(binDir, "app"), ".")
		cmd.Dir = filepath.Join(Root(), "testdata", "stack", "app")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{err: err, out: out}
			return
		}
		df, err := os.ReadFile(filepath.Join(Root(), "testdata", "stack", "app", "Dockerfile"))
		if err == nil {
			err = os.WriteFile(filepath.Join(binDir, "Dockerfile"), df, 0o644)
		}
		binErr = err
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "go build ./testdata/stack/app: " + e.err.Error() + "\n" + string(e.out)
}

// Image builds the example stack's image on the engine at socket, tagged
// tag (with the label zrun.test=1, so that Cleanup can find it), and
// returns its ID. Extra Dockerfile lines (a LABEL, an ENV) make images
// that differ.
func Image(t testing.TB, socket, tag string, extra ...string) string {
	t.Helper()
	dir := AppContext(t)
	bin, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df = append(df, []byte("\n"+strings.Join(extra, "\n")+"\n")...)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, df}, {"app", 0o755, bin}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	c := Client(t, socket)
	resp, err := c.ImageBuild(context.Background(), &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Labels: map[string]string{"zrun.test": "1"}, Remove: true, ForceRemove: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var id string
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error string
			Aux   struct{ ID string }
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if m.Error != "" {
			t.Fatalf("building %s: %s", tag, m.Error)
		}
		if m.Aux.ID != "" {
			id = m.Aux.ID
		}
	}
	if id == "" {
		ins, _, err := c.ImageInspectWithRaw(context.Background(), tag)
		if err != nil {
			t.Fatal(err)
		}
		id = ins.ID
	}
	return id
}
