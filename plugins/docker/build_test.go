package docker

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// The context sent is the folder less what .dockerignore excludes, the
// Dockerfile and .dockerignore always in it, links stored as links and
// modes kept; no engine needed to see it.
func TestBuildContextTar(t *testing.T) {
	dir := writeContext(t, map[string]ctxFile{
		"Dockerfile":         {data: "FROM scratch\n"},
		".dockerignore":      {data: "# comment\nsecret.txt\n*.log\nlogs\n!logs/keep.log\nDockerfile\n.dockerignore\nbuild/\n"},
		"app.txt":            {data: "app", mode: 0o640},
		"run.sh":             {data: "#!/bin/sh\n", mode: 0o755},
		"secret.txt":         {data: "s3cret"},
		"debug.log":          {data: "x"},
		"sub/debug.log":      {data: "nested: not matched by *.log"},
		"logs/a.log":         {data: "a"},
		"logs/keep.log":      {data: "keep"},
		"build/out.bin":      {data: "big"},
		"link":               {link: "app.txt"},
		"dangling":           {link: "/nowhere"},
		"sub/dir/deep.txt":   {data: "deep"},
		"docker/Dockerfile2": {data: "FROM scratch\n"},
	})
	var buf bytes.Buffer
	if err := writeBuildContext(&buf, dir, "Dockerfile", nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	eachTarEntry(t, &buf, func(hdr *tar.Header, data []byte) {
		desc := string(data)
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			desc = "-> " + hdr.Linkname
		case tar.TypeDir:
			desc = "dir"
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" {
			t.Errorf("%s: owner %d:%d %q, want root's 0:0", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname)
		}
		got[hdr.Name] = desc + " " + os.FileMode(hdr.Mode).Perm().String()
	})
	want := map[string]string{
		"Dockerfile":         "FROM scratch\n -rw-r--r--",
		".dockerignore":      got[".dockerignore"],
		"app.txt":            "app -rw-r-----",
		"run.sh":             "#!/bin/sh\n -rwxr-xr-x",
		"logs/keep.log":      "keep -rw-r--r--",
		"link":               "-> app.txt -rwxrwxrwx",
		"dangling":           "-> /nowhere -rwxrwxrwx",
		"sub/":               "dir -rwxr-xr-x",
		"sub/debug.log":      "nested: not matched by *.log -rw-r--r--",
		"sub/dir/":           "dir -rwxr-xr-x",
		"sub/dir/deep.txt":   "deep -rw-r--r--",
		"docker/":            "dir -rwxr-xr-x",
		"docker/Dockerfile2": "FROM scratch\n -rw-r--r--",
	}
	if _, ok := got[".dockerignore"]; !ok {
		t.Error(".dockerignore is not in the context although it ignores itself: the engine reads it")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
}

// A Dockerfile in an ignored folder is sent all the same, without the
// rest of the folder.
func TestBuildContextIgnoredDockerfileFolder(t *testing.T) {
	dir := writeContext(t, map[string]ctxFile{
		".dockerignore":     {data: "docker\n"},
		"docker/Dockerfile": {data: "FROM scratch\n"},
		"docker/other":      {data: "x"},
	})
	var buf bytes.Buffer
	if err := writeBuildContext(&buf, dir, "docker/Dockerfile", nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	eachTarEntry(t, &buf, func(hdr *tar.Header, _ []byte) { names = append(names, hdr.Name) })
	sort.Strings(names)
	if want := []string{".dockerignore", "docker/Dockerfile"}; !slices.Equal(names, want) {
		t.Errorf("context holds %q, want %q", names, want)
	}
}

// What the engine builds from a context: an ignored file is not in the
// image, an exception (!path) is, modes and links are kept.
func TestBuildDockerignore(t *testing.T) {
	sock := dockertest.Socket(t)
	dir := writeContext(t, map[string]ctxFile{
		"Dockerfile":    {data: "FROM scratch\nCOPY . /ctx/\n"},
		".dockerignore": {data: "secret.txt\n*.log\nlogs\n!logs/keep.log\nDockerfile\n"},
		"app.txt":       {data: "app", mode: 0o640},
		"run.sh":        {data: "#!/bin/sh\n", mode: 0o755},
		"secret.txt":    {data: "s3cret"},
		"debug.log":     {data: "x"},
		"logs/a.log":    {data: "a"},
		"logs/keep.log": {data: "keep"},
		"link":          {link: "app.txt"},
	})
	tag := objectName(t) + ":1"
	c := testClient(t, sock)
	removeImageLater(t, c, tag)
	res := sdktest.Run(t, Plugin(), "build", map[string]cty.Value{
		"context": cty.StringVal(dir), "tags": stringList(tag), "labels": cty.MapVal(map[string]cty.Value{"zrun.test": cty.StringVal("1")}),
		"socket": cty.StringVal(sock),
	}, sdktest.WithTarget(local.Target()), sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	id := res.Outputs.GetAttr("image_id").AsString()
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("image_id %q", id)
	}
	if !contains(res.Stdout, ": COPY . /ctx/") {
		t.Errorf("the build's output is not on stdout: %q", res.Stdout)
	}
	files := imageFiles(t, c, id)
	for _, absent := range []string{"/ctx/secret.txt", "/ctx/debug.log", "/ctx/logs/a.log", "/ctx/Dockerfile"} {
		if _, ok := files[absent]; ok {
			t.Errorf("%s is in the image although .dockerignore excludes it", absent)
		}
	}
	for name, mode := range map[string]os.FileMode{"/ctx/app.txt": 0o640, "/ctx/run.sh": 0o755, "/ctx/logs/keep.log": 0o644} {
		hdr, ok := files[name]
		if !ok {
			t.Errorf("%s is not in the image", name)
			continue
		}
		if got := os.FileMode(hdr.Mode).Perm(); got != mode {
			t.Errorf("%s has mode %s, want %s", name, got, mode)
		}
	}
	if hdr := files["/ctx/link"]; hdr == nil || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "app.txt" {
		t.Errorf("/ctx/link is %+v, want a link to app.txt", hdr)
	}
	// The engine's own check agrees: an ignored file cannot be copied.
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY secret.txt /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = sdktest.Run(t, Plugin(), "build", map[string]cty.Value{"context": cty.StringVal(dir), "socket": cty.StringVal(sock)},
		sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err == nil || !contains(err.Error(), "secret.txt") {
		t.Errorf("COPY of an ignored file: want the engine's error naming it, got %v", err)
	}
}

// Build arguments and labels reach the image, every tag names it, and a
// stage of a multi-stage Dockerfile can be built alone.
func TestBuildArgsLabelsStage(t *testing.T) {
	sock := dockertest.Socket(t)
	dir := writeContext(t, map[string]ctxFile{
		"docker/Dockerfile.prod": {data: "FROM scratch AS first\nARG VERSION\nLABEL app.version=$VERSION\nCOPY a /a\n" +
			"FROM scratch AS second\nCOPY b /b\n"},
		"a": {data: "a"},
		"b": {data: "b"},
	})
	name := objectName(t)
	tags := []string{name + ":1.4.2", name + ":latest"}
	c := testClient(t, sock)
	for _, tag := range tags {
		removeImageLater(t, c, tag)
	}
	res := sdktest.Run(t, Plugin(), "build", map[string]cty.Value{
		"context": cty.StringVal(dir), "dockerfile": cty.StringVal("docker/Dockerfile.prod"),
		"tags":       stringList(tags...),
		"build_args": cty.MapVal(map[string]cty.Value{"VERSION": cty.StringVal("1.4.2")}),
		"labels":     cty.MapVal(map[string]cty.Value{"zrun.test": cty.StringVal("1"), "team": cty.StringVal("h2")}),
		"stage":      cty.StringVal("first"),
		"no_cache":   cty.True,
		"socket":     cty.StringVal(sock),
	}, sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	id := res.Outputs.GetAttr("image_id").AsString()
	if got := listStrings(res.Outputs.GetAttr("tags")); !slices.Equal(got, tags) {
		t.Errorf("tags output %q, want %q", got, tags)
	}
	for _, tag := range tags {
		ins, err := c.ImageInspect(t.Context(), tag)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if ins.ID != id {
			t.Errorf("%s is %s, the build said %s", tag, ins.ID, id)
		}
		if l := ins.Config.Labels; l["app.version"] != "1.4.2" || l["team"] != "h2" || l["zrun.test"] != "1" {
			t.Errorf("%s has labels %v, want app.version=1.4.2 (the build arg), team=h2 and zrun.test=1", tag, l)
		}
	}
	files := imageFiles(t, c, id)
	if _, ok := files["/a"]; !ok {
		t.Error("/a (the first stage's) is not in the image")
	}
	if _, ok := files["/b"]; ok {
		t.Error("/b is in the image: the second stage was built, not the first")
	}
}

// A build that fails fails the step with the engine's message, whether
// the engine refuses the Dockerfile at once or a step fails midway.
func TestBuildErrors(t *testing.T) {
	sock := dockertest.Socket(t)
	tests := map[string]struct {
		dockerfile string
		want       string
	}{
		"parse error":   {dockerfile: "FROM scratch\nBOGUS x\n", want: "unknown instruction: BOGUS"},
		"a step fails":  {dockerfile: "FROM scratch\nCOPY missing.txt /\n", want: "missing.txt"},
		"unknown stage": {dockerfile: "FROM scratch AS one\n", want: "nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeContext(t, map[string]ctxFile{"Dockerfile": {data: tc.dockerfile}})
			args := map[string]cty.Value{"context": cty.StringVal(dir), "socket": cty.StringVal(sock)}
			if name == "unknown stage" {
				args["stage"] = cty.StringVal("nope")
			}
			res := sdktest.Run(t, Plugin(), "build", args, sdktest.WithTarget(local.Target()))
			err := res.Diagnostics.Err()
			if err == nil || !contains(err.Error(), tc.want) || !contains(err.Error(), "build failed") {
				t.Errorf("want the engine's error with %q, got %v", tc.want, err)
			}
		})
	}
}

// Bad arguments are diagnostics at the argument, before any engine is
// asked.
func TestBuildArguments(t *testing.T) {
	dir := writeContext(t, map[string]ctxFile{"Dockerfile": {data: "FROM scratch\n"}})
	tests := map[string]struct {
		args    map[string]cty.Value
		path    cty.Path
		summary string
	}{
		"missing context":      {args: map[string]cty.Value{"context": cty.StringVal(filepath.Join(dir, "nope"))}, path: cty.GetAttrPath("context"), summary: "Build context not found"},
		"context is a file":    {args: map[string]cty.Value{"context": cty.StringVal(filepath.Join(dir, "Dockerfile"))}, path: cty.GetAttrPath("context"), summary: "Build context not found"},
		"missing Dockerfile":   {args: map[string]cty.Value{"context": cty.StringVal(dir), "dockerfile": cty.StringVal("Dockerfile.prod")}, path: cty.GetAttrPath("dockerfile"), summary: "Dockerfile not found"},
		"Dockerfile outside":   {args: map[string]cty.Value{"context": cty.StringVal(dir), "dockerfile": cty.StringVal("../Dockerfile")}, path: cty.GetAttrPath("dockerfile"), summary: "Dockerfile outside the context"},
		"absolute Dockerfile":  {args: map[string]cty.Value{"context": cty.StringVal(dir), "dockerfile": cty.StringVal("/etc/Dockerfile")}, path: cty.GetAttrPath("dockerfile"), summary: "Dockerfile outside the context"},
		"bad tag":              {args: map[string]cty.Value{"context": cty.StringVal(dir), "tags": stringList("ok:1", "Bad Tag")}, path: cty.GetAttrPath("tags").IndexInt(1), summary: "Invalid image tag"},
		"digest for a tag":     {args: map[string]cty.Value{"context": cty.StringVal(dir), "tags": stringList("app@sha256:" + strings.Repeat("a", 64))}, path: cty.GetAttrPath("tags").IndexInt(0), summary: "Invalid image tag"},
		"empty context":        {args: map[string]cty.Value{"context": cty.StringVal("")}, path: cty.GetAttrPath("context"), summary: "Empty build context"},
		"empty build arg name": {args: map[string]cty.Value{"context": cty.StringVal(dir), "build_args": cty.MapVal(map[string]cty.Value{"": cty.StringVal("x")})}, path: cty.GetAttrPath("build_args").Index(cty.StringVal("")), summary: "Empty name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.args["socket"] = cty.StringVal(filepath.Join(dir, "no-engine.sock"))
			res := sdktest.Run(t, Plugin(), "build", tc.args, sdktest.WithTarget(local.Target()))
			if len(res.Diagnostics) != 1 {
				t.Fatalf("want one diagnostic, got %v", res.Diagnostics)
			}
			d := res.Diagnostics[0]
			if d.Summary != tc.summary || !d.Path.Equals(tc.path) {
				t.Errorf("got %q at %#v (%s), want %q at %#v", d.Summary, d.Path, d.Detail, tc.summary, tc.path)
			}
		})
	}
}

// The plan names the tags, the context and the target.
func TestBuildPlan(t *testing.T) {
	resp, diags, err := sdkClient().PlanAction(t.Context(), "build", planRequest(t, "build", map[string]cty.Value{
		"context": cty.StringVal("./app"), "tags": stringList("zakupai/app:1.4.2"),
	}))
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if want := []string{`build ["zakupai/app:1.4.2"] from ./app on local`}; !slices.Equal(resp.Changes, want) {
		t.Errorf("plan %q, want %q", resp.Changes, want)
	}
}
