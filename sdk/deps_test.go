package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// forbidden are modules and packages a plugin author must never inherit
// from the SDK: zrun's engine (the root module) and the heavy libraries
// of the CLI, the ledger, the secrets and the ops plugins.
var forbidden = []string{
	"github.com/zrun-dev/zrun/engine",
	"github.com/zrun-dev/zrun/dsl",
	"github.com/zrun-dev/zrun/plugins",
	"github.com/zrun-dev/zrun/cmd",
	"github.com/spf13/cobra",
	"github.com/jackc/pgx",
	"go.etcd.io/bbolt",
	"github.com/hashicorp/vault",
	"github.com/docker/",
	"github.com/rclone/",
	"github.com/pkg/sftp",
}

// TestSDKModuleGraph keeps the SDK module's requirements to what it
// needs: its go.mod's graph, which every plugin author's module inherits,
// holds none of the engine's dependencies, nor the engine itself.
func TestSDKModuleGraph(t *testing.T) {
	graph := goCmd(t, ".", "mod", "graph")
	mods := graphModules(graph)
	if len(mods) < 5 {
		t.Fatalf("go mod graph lists only %d modules:\n%s", len(mods), graph)
	}
	for _, m := range mods {
		if m == "github.com/zrun-dev/zrun" {
			t.Errorf("the SDK module requires the engine's module")
		}
		for _, f := range forbidden {
			if strings.HasPrefix(m, f) {
				t.Errorf("the SDK module's graph holds %s", m)
			}
		}
	}
}

// TestThirdPartyPluginBuilds builds the example plugin greet the way a
// third party would: in a module of its own that requires the SDK module
// alone. It must build from the SDK's go.sum, and neither its
// packages nor its module graph may hold the engine or its dependencies.
func TestThirdPartyPluginBuilds(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "plugins", "zrun-plugin-greet", "main.go"))
	if os.IsNotExist(err) {
		t.Skip("not in zrun's repository: the example plugin is not beside the SDK")
	}
	if err != nil {
		t.Fatal(err)
	}
	sdkDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module example.com/zrun-plugin-greet\n\ngo 1.26\n\n" +
		"require github.com/zrun-dev/zrun/sdk v0.1.0\n\n" +
		"replace github.com/zrun-dev/zrun/sdk => " + sdkDir + "\n"
	for name, data := range map[string][]byte{"main.go": src, "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// -mod=mod lets go add the SDK's requirements to the new go.mod, as
	// `go mod tidy` would for an author.
	goCmd(t, dir, "build", "-mod=mod", "-o", filepath.Join(dir, "zrun-plugin-greet"), ".")
	pkgs := strings.Fields(goCmd(t, dir, "list", "-deps", "."))
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages: %v", len(pkgs), pkgs)
	}
	for _, dep := range append(pkgs, graphModules(goCmd(t, dir, "mod", "graph"))...) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("a plugin built with the SDK pulls in %s", dep)
			}
		}
	}
}

// goCmd runs the go command in dir outside any workspace, as a plugin
// author's module builds, and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// graphModules returns the module paths, without versions, that
// `go mod graph` output names.
func graphModules(graph string) []string {
	var mods []string
	for _, f := range strings.Fields(graph) {
		m, _, _ := strings.Cut(f, "@")
		mods = append(mods, m)
	}
	return mods
}
