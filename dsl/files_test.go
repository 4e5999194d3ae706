package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/dsl/limits"
)

// loadWithin loads dir, failing the test if that takes longer than a few
// seconds (a FIFO read blocks forever).
func loadWithin(t *testing.T, dir string) (*Config, []string) {
	t.Helper()
	type result struct {
		cfg  *Config
		msgs []string
	}
	done := make(chan result, 1)
	go func() {
		cfg, diags := NewParser().LoadProject(dir)
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, d.Error())
		}
		done <- result{cfg, msgs}
	}()
	select {
	case r := <-done:
		return r.cfg, r.msgs
	case <-time.After(10 * time.Second):
		t.Fatal("LoadProject blocked")
		return nil, nil
	}
}

func TestLoadProjectReadsOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "workflows", "ok.hcl"), "workflow \"ok\" {}\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "workflows", "pipe.hcl"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "environments", "dev.hcl"), "environment \"dev\" {}\n")
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "environments", "zero.hcl")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "environments", "big.hcl"), "# "+strings.Repeat("x", limits.MaxSourceSize)+"\n")

	cfg, msgs := loadWithin(t, dir)
	want := []string{"pipe.hcl cannot be read", "named pipe", "zero.hcl cannot be read", "character device", "big.hcl cannot be read", "larger than 1 MiB"}
	all := strings.Join(msgs, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("diagnostics do not say %q:\n%s", w, all)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("want 3 diagnostics, got %d:\n%s", len(msgs), all)
	}
	if cfg.Workflows["ok"] == nil || cfg.Environments["dev"] == nil {
		t.Error("the readable files were not loaded")
	}
}

func TestLoadProjectUnreadableFolders(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T, dir string){
		"symlink loop": func(t *testing.T, dir string) {
			symlink(t, "workflows", filepath.Join(dir, "workflows"))
		},
		"dangling symlink": func(t *testing.T, dir string) {
			symlink(t, "nowhere", filepath.Join(dir, "workflows"))
		},
		"a file": func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "workflows"), "")
		},
		"no permission": func(t *testing.T, dir string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads any folder")
			}
			writeFile(t, filepath.Join(dir, "workflows", "a.hcl"), "")
			if err := os.Chmod(filepath.Join(dir, "workflows"), 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(filepath.Join(dir, "workflows"), 0o755) })
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "environments", "dev.hcl"), "environment \"dev\" {}\n")
			setup(t, dir)
			_, msgs := loadWithin(t, dir)
			if len(msgs) != 1 || !strings.Contains(msgs[0], "Failed to read project") || !strings.Contains(msgs[0], "workflows/ cannot be read") {
				t.Errorf("want one error about workflows/, got %q", msgs)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestLoadProjectDeepNesting(t *testing.T) {
	dir := t.TempDir()
	deep := "environment \"deep\" {\n  x = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n}\n"
	writeFile(t, filepath.Join(dir, "environments", "deep.hcl"), deep)
	long := "environment \"long\" {\n  x = 1" + strings.Repeat("+1", 100000) + "\n}\n"
	writeFile(t, filepath.Join(dir, "environments", "long.hcl"), long)
	writeFile(t, filepath.Join(dir, "environments", "dev.hcl"), "environment \"dev\" {\n  extends = \"nope\"\n}\n")
	cfg, diags := NewParser().LoadProject(dir)
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%s @ %s:%d:%d", d.Summary, d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column))
	}
	want := []string{
		// The block's brace is the first level of nesting, and of chain.
		"Nesting too deep @ environments/deep.hcl:2:" + strconv.Itoa(6+limits.MaxDepth),
		"Expression too long @ environments/long.hcl:2:" + strconv.Itoa(4+2*limits.MaxChain),
		"Unknown parent environment @ environments/dev.hcl:2:13",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cfg.Files["environments/deep.hcl"] == nil {
		t.Error("a refused file is still there to show its snippet")
	}
}

func TestLoadProjectSizeBound(t *testing.T) {
	dir := t.TempDir()
	comment := "# " + strings.Repeat("x", limits.MaxSourceSize-3) + "\n"
	p := NewParser()
	p.maxProject = 2 << 20 // MaxProjectSize, smaller: loading 16 MiB takes seconds
	n := p.maxProject/limits.MaxSourceSize + 1
	for i := range n {
		writeFile(t, filepath.Join(dir, "workflows", fmt.Sprintf("w%02d.hcl", i)), comment)
	}
	_, diags := p.LoadProject(dir)
	if len(diags) != 1 || diags[0].Summary != "Project too large" || !strings.Contains(diags[0].Detail, fmt.Sprintf("w%02d.hcl", n-1)) {
		t.Errorf("want one error naming the file that passes the bound, got %v", diags)
	}
}
