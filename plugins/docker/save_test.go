package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// A save piped into a load moves an image from one engine to another
// with its ID, and both count the same bytes.
func TestSaveLoadBetweenEngines(t *testing.T) {
	sock, server, tag, _ := shipFixture(t)
	id, remote := inspectID(t, sock, tag), testClient(t, server)

	res := ship(t, sock, server, []string{tag}, nil, nil)
	if err := errors.Join(res.saveDiags.Err(), res.loadDiags.Err()); err != nil {
		t.Fatal(err)
	}
	if got := listStrings(res.load.GetAttr("images")); len(got) != 1 || got[0] != tag {
		t.Errorf("load reports %q loaded, want [%q]", got, tag)
	}
	saved, loaded := res.save.GetAttr("bytes"), res.load.GetAttr("bytes")
	if !saved.Equals(loaded).True() || saved.AsBigFloat().Sign() <= 0 {
		t.Errorf("save sent %s bytes, load read %s", saved.AsBigFloat(), loaded.AsBigFloat())
	}
	ins, err := remote.ImageInspect(t.Context(), tag)
	if err != nil {
		t.Fatalf("the server has no %s: %v", tag, err)
	}
	if ins.ID != id {
		t.Errorf("the server's %s is %s, the local one %s", tag, ins.ID, id)
	}
}

// shipFixture gives a test the two engines and an image of its own to
// ship, tagged tag and labelled h2.test=label, removed from both when
// the test ends.
func shipFixture(t *testing.T) (sock, server, tag, label string) {
	t.Helper()
	sock, server = dockertest.Socket(t), dockertest.ServerSocket(t)
	tag, label = objectName(t)+":1", objectName(t)
	dockertest.Image(t, sock, tag, "LABEL h2.test="+label)
	removeImageLater(t, testClient(t, sock), tag)
	removeImageLater(t, testClient(t, server), tag)
	return sock, server, tag, label
}

func inspectID(t *testing.T, sock, ref string) string {
	t.Helper()
	ins, err := testClient(t, sock).ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return ins.ID
}

// serverHasNothing fails t when the server engine has the tag, or any
// image labelled h2.test=label (an untagged leftover of a load).
func serverHasNothing(t *testing.T, server, tag, label string) {
	t.Helper()
	remote := testClient(t, server)
	if ins, err := remote.ImageInspect(t.Context(), tag); !cerrdefs.IsNotFound(err) {
		t.Errorf("the server has %s (%s) after a failed load: %v", tag, ins.ID, err)
	}
	list, err := remote.ImageList(t.Context(), image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "h2.test="+label))})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range list {
		t.Errorf("the server has the image %s %v after a failed load", img.ID, img.RepoTags)
	}
}

// failAfter is a writer that takes n bytes, then fails.
type failAfter struct {
	w io.Writer
	n int64
}

var errProducerDied = errors.New("h2: the producing step died")

func (f *failAfter) Write(p []byte) (int, error) {
	if int64(len(p)) > f.n {
		n, _ := f.w.Write(p[:f.n])
		f.n = 0
		return n, errProducerDied
	}
	f.n -= int64(len(p))
	return f.w.Write(p)
}

// A save cut off midway fails, its load fails with it, and the server
// has no image, tagged or not.
func TestLoadProducerFailsMidway(t *testing.T) {
	sock, server, tag, label := shipFixture(t)

	res := ship(t, sock, server, []string{tag}, func(w io.Writer) io.Writer { return &failAfter{w: w, n: 2 << 20} }, nil)
	if err := res.saveDiags.Err(); err == nil || !contains(err.Error(), errProducerDied.Error()) {
		t.Errorf("save: want its stream's error, got %v", err)
	}
	err := res.loadDiags.Err()
	if err == nil || !contains(err.Error(), "from:") || !contains(err.Error(), errProducerDied.Error()) {
		t.Errorf("load: want the producer's failure, got %v", err)
	}
	serverHasNothing(t, server, tag, label)
}

// A producer that fails after its last byte fails the load too, and the
// engine, which had the whole archive but for its end, loads nothing.
func TestLoadProducerFailsAtTheEnd(t *testing.T) {
	sock, server, tag, label := shipFixture(t)

	res := ship(t, sock, server, []string{tag}, nil, func(saveDiags sdk.Diagnostics) error {
		if err := saveDiags.Err(); err != nil {
			t.Errorf("save: %v", err)
		}
		return errProducerDied
	})
	if err := res.loadDiags.Err(); err == nil || !contains(err.Error(), errProducerDied.Error()) {
		t.Errorf("load: want the producer's failure, got %v", err)
	}
	serverHasNothing(t, server, tag, label)
}

// An archive the engine refuses fails the load with the engine's message.
func TestLoadEngineError(t *testing.T) {
	sock := dockertest.Socket(t)
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	_ = tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: 9, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("not json!"))
	_ = tw.Close()
	_, diags := runWith(t, t.Context(), "load", map[string]cty.Value{
		"from": cty.StringVal("step.save.stream"), "socket": cty.StringVal(sock),
	}, newStreamUI(&tarball, nil))
	if err := diags.Err(); err == nil || !contains(err.Error(), "load failed") {
		t.Errorf("want the engine's error, got %v", err)
	}
}

// A save nobody reads fails before it reads anything; a missing image is
// a diagnostic at its element.
func TestSaveErrors(t *testing.T) {
	sock := dockertest.Socket(t)
	tag := objectName(t) + ":1"
	buildImage(t, sock, tag, "FROM scratch\nCOPY f /f\n", map[string][]byte{"f": []byte("f")})
	res := sdktest.Run(t, Plugin(), "save", map[string]cty.Value{"images": stringList(tag), "socket": cty.StringVal(sock)},
		sdktest.WithTarget(local.Target()))
	if err := res.Diagnostics.Err(); err == nil || !contains(err.Error(), "no step reads") {
		t.Errorf("a save without a consumer: want an error saying so, got %v", err)
	}
	res = sdktest.Run(t, Plugin(), "save", map[string]cty.Value{"images": stringList(tag, objectName(t, "missing")+":1"), "socket": cty.StringVal(sock)},
		sdktest.WithTarget(local.Target()), sdktest.WithOutput("stream"))
	if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("images").IndexInt(1)) || res.Diagnostics[0].Summary != "No such image" {
		t.Errorf("a missing image: want No such image at images[1], got %v", res.Diagnostics)
	}
	if len(res.Streams["stream"]) != 0 {
		t.Errorf("a save of a missing image wrote %d bytes", len(res.Streams["stream"]))
	}
}

// copyArchive passes a tar on byte for byte, and fails on one that does
// not end as a tar ends.
func TestCopyArchive(t *testing.T) {
	var good bytes.Buffer
	tw := tar.NewWriter(&good)
	for _, name := range []string{"a/layer.tar", "manifest.json"} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 700, Typeflag: tar.TypeReg})
		_, _ = tw.Write(bytes.Repeat([]byte("z"), 700))
	}
	_ = tw.Close()
	whole := good.Bytes()
	firstEnd := 512 + 1024 // a's header and its padded content
	tests := map[string]struct {
		in      []byte
		wantErr string
	}{
		"whole":                 {in: whole},
		"padded to a record":    {in: append(append([]byte(nil), whole...), make([]byte, 8192)...)},
		"cut at an entry's end": {in: whole[:firstEnd], wantErr: "broke off"},
		"cut after one block":   {in: whole[:len(whole)-512], wantErr: "broke off"},
		"cut in a header":       {in: whole[:firstEnd+100], wantErr: "broke off"},
		"the engine's error":    {in: append(whole[:firstEnd:firstEnd], `{"errorDetail":{"message":"disk on fire"}}`...), wantErr: "broke off"},
		"data after the end":    {in: append(append([]byte(nil), whole...), "junk"...), wantErr: "after the archive's end"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := copyArchive(&out, bytes.NewReader(tc.in))
			if tc.wantErr == "" {
				if err != nil || n != int64(len(tc.in)) || !bytes.Equal(out.Bytes(), tc.in) {
					t.Errorf("copied %d of %d bytes, equal %v: %v", n, len(tc.in), bytes.Equal(out.Bytes(), tc.in), err)
				}
				return
			}
			if err == nil || !contains(err.Error(), tc.wantErr) {
				t.Errorf("want an error with %q, got %v", tc.wantErr, err)
			}
		})
	}
	// The consumer's failure is said as such, not as a broken archive.
	_, err := copyArchive(&failAfter{w: io.Discard, n: 600}, bytes.NewReader(whole))
	if err == nil || !errors.Is(err, errProducerDied) || contains(err.Error(), "broke off") {
		t.Errorf("a failing consumer: got %v", err)
	}
}

// The plugin's heap stays far under the image's size while a 256 MiB
// layer is built, saved and loaded into another engine: every step
// streams.
func TestSaveLoadLargeImageMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and ships a 256 MiB image")
	}
	sock, server := dockertest.Socket(t), dockertest.ServerSocket(t)
	const size = 256 << 20
	const limit = 48 << 20
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{2}), size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY big /big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := objectName(t) + ":1"
	here, remote := testClient(t, sock), testClient(t, server)
	removeImageLater(t, here, tag)
	removeImageLater(t, remote, tag)

	stop := heapPeak()
	res := sdktest.Run(t, Plugin(), "build", map[string]cty.Value{
		"context": cty.StringVal(dir), "tags": stringList(tag), "socket": cty.StringVal(sock),
		"labels": cty.MapVal(map[string]cty.Value{"zrun.test": cty.StringVal("1")}),
	}, sdktest.WithTarget(local.Target()))
	peak := stop()
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("build of a 256 MiB context: heap peak %.1f MiB above the start", float64(peak)/(1<<20))
	if peak > limit {
		t.Errorf("the build's heap grew by %d MiB for a %d MiB context: it is buffered", peak>>20, size>>20)
	}
	id := res.Outputs.GetAttr("image_id").AsString()

	stop = heapPeak()
	shipped := ship(t, sock, server, []string{tag}, nil, nil)
	peak = stop()
	if err := errors.Join(shipped.saveDiags.Err(), shipped.loadDiags.Err()); err != nil {
		t.Fatal(err)
	}
	bytes, _ := shipped.save.GetAttr("bytes").AsBigFloat().Int64()
	t.Logf("save | load of %d MiB: heap peak %.1f MiB above the start", bytes>>20, float64(peak)/(1<<20))
	if bytes < size {
		t.Errorf("the archive has %d bytes, less than the layer", bytes)
	}
	if peak > limit {
		t.Errorf("save | load grew the heap by %d MiB for a %d MiB image: it is buffered", peak>>20, size>>20)
	}
	if ins, err := remote.ImageInspect(t.Context(), tag); err != nil || ins.ID != id {
		t.Errorf("the server's %s is %s (%v), want %s", tag, ins.ID, err, id)
	}
}
