package ssh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

const (
	confV1 = "server {\n  listen 80;\n  root /srv/www;\n}\n"
	confV2 = "server {\n  listen 8080;\n  root /srv/www;\n}\n"
)

func TestTemplate(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "site.conf")
	target := named{localStep().target, "web1"}
	render := func(content string, extra map[string]any) *result {
		args := map[string]any{"content": content, "dest": dest}
		for k, v := range extra {
			args[k] = v
		}
		return onTarget(target).run(t, "template", args).ok(t)
	}

	res := render(confV1, nil)
	if !res.boolean("changed") || readFile(t, dest) != confV1 || perm(t, dest) != 0o644 {
		t.Fatalf("first render: changed %v, dest %q, mode %o", res.boolean("changed"), readFile(t, dest), perm(t, dest))
	}
	if d := res.str("diff"); !strings.HasPrefix(d, "--- /dev/null\n+++ "+dest+" (rendered)\n") || !strings.Contains(d, "+  listen 80;") {
		t.Errorf("diff of a new file:\n%s", d)
	}

	res = render(confV1, nil)
	if res.boolean("changed") || res.str("diff") != "" {
		t.Errorf("unchanged content: changed %v, diff %q", res.boolean("changed"), res.str("diff"))
	}
	if len(res.Logs) != 1 || res.Logs[0] != dest+" on web1 is up to date" {
		t.Errorf("logs = %q", res.Logs)
	}

	res = render(confV2, nil)
	wantDiff := "--- " + dest + " on web1\n+++ " + dest + " (rendered)\n@@ -1,4 +1,4 @@\n server {\n-  listen 80;\n+  listen 8080;\n   root /srv/www;\n }"
	if diff := cmp.Diff(wantDiff, res.str("diff")); !res.boolean("changed") || diff != "" {
		t.Errorf("changed %v; diff (-want +got):\n%s", res.boolean("changed"), diff)
	}
	if readFile(t, dest) != confV2 {
		t.Errorf("dest holds %q", readFile(t, dest))
	}

	// The mode alone differs: the file is published again.
	res = render(confV2, map[string]any{"mode": "0600"})
	if !res.boolean("changed") || res.str("diff") != "" || perm(t, dest) != 0o600 {
		t.Errorf("mode change: changed %v, diff %q, mode %o", res.boolean("changed"), res.str("diff"), perm(t, dest))
	}
	res = render(confV1, map[string]any{"mode": "0600", "show_diff": false})
	if !res.boolean("changed") || res.str("diff") != "" {
		t.Errorf("show_diff = false: changed %v, diff %q", res.boolean("changed"), res.str("diff"))
	}
	if got := names(t, dir); !cmp.Equal(got, []string{"site.conf"}) {
		t.Errorf("the folder holds %q", got)
	}
}

func TestTemplatePlan(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"site.conf": confV1})
	if err := os.Chmod(filepath.Join(dir, "site.conf"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "site.conf")
	tests := map[string]struct {
		args map[string]any
		want []string
		noop bool
	}{
		"unchanged": {
			args: map[string]any{"content": confV1, "dest": dest},
			want: []string{dest + " on web1 is up to date"}, noop: true,
		},
		"update shows the diff": {
			args: map[string]any{"content": confV2, "dest": dest},
			want: []string{"update " + dest + " on web1", "--- " + dest + " on web1", "+++ " + dest + " (rendered)",
				"@@ -1,4 +1,4 @@", " server {", "-  listen 80;", "+  listen 8080;", "   root /srv/www;", " }"},
		},
		"create": {
			args: map[string]any{"content": "a\n", "dest": filepath.Join(dir, "new.conf")},
			want: []string{"create " + filepath.Join(dir, "new.conf") + " on web1", "--- /dev/null", "+++ " + filepath.Join(dir, "new.conf") + " (rendered)", "@@ -0,0 +1 @@", "+a"},
		},
		"mode only": {
			args: map[string]any{"content": confV1, "dest": dest, "mode": "0640"},
			want: []string{"set the mode and owner of " + dest + " on web1 (content unchanged)"},
		},
		"no diff": {
			args: map[string]any{"content": confV2, "dest": dest, "show_diff": false},
			want: []string{"update " + dest + " on web1"},
		},
		"unknown content": {
			args: map[string]any{"content": cty.UnknownVal(cty.String), "dest": dest},
			want: []string{"render " + dest + " on web1 if it changed (content known at run time)"},
		},
		"binary": {
			args: map[string]any{"content": "\x00\x01", "dest": dest},
			want: []string{"update " + dest + " on web1", "(binary content differs)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, diags := onTarget(named{localStep().target, "web1"}).plan(t, "template", tc.args)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			if diff := cmp.Diff(tc.want, resp.Changes); diff != "" || resp.NoOp != tc.noop {
				t.Errorf("NoOp %v; changes (-want +got):\n%s", resp.NoOp, diff)
			}
		})
	}
	if got := readFile(t, dest); got != confV1 {
		t.Errorf("planning changed the file: %q", got)
	}
}

func TestTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	localStep().run(t, "template", map[string]any{"content": "x", "dest": "site.conf"}).wantErr(t, "Relative path on the target", cty.GetAttrPath("dest"))
	localStep().run(t, "template", map[string]any{"content": "x", "dest": "/x", "group": ""}).wantErr(t, "Empty group", cty.GetAttrPath("group"))
	err := localStep().run(t, "template", map[string]any{"content": "x", "dest": dir}).err()
	if err == nil || !strings.Contains(err.Error(), "is a folder on local") {
		t.Errorf("error = %v", err)
	}
}
