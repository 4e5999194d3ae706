package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSDKDependencies keeps the SDK light: a third party's plugin, built
// against sdk/... alone, must not compile zrun's engine, its parser, the
// CLI's libraries or the heavy dependencies of the ops plugins.
func TestSDKDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...", "../testdata/plugins/zrun-plugin-greet").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/zrun-dev/zrun/engine",
		"github.com/zrun-dev/zrun/dsl",
		"github.com/zrun-dev/zrun/plugins",
		"github.com/zrun-dev/zrun/cmd",
		"github.com/spf13/cobra",
		"github.com/docker/",
		"github.com/rclone/",
		"github.com/pkg/sftp",
		"github.com/jackc/pgx",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages: %s", len(deps), out)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("the SDK pulls in %s", dep)
			}
		}
	}
}
