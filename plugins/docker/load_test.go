package docker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// holdback gives its input whole when it ends well, and never its last
// bytes when it fails, however it is read.
func TestHoldback(t *testing.T) {
	data := make([]byte, 3*holdbackRead+12345)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	readers := map[string]func(io.Reader) io.Reader{
		"plain":       func(r io.Reader) io.Reader { return r },
		"one byte":    iotest.OneByteReader,
		"half reads":  iotest.HalfReader,
		"data on EOF": iotest.DataErrReader,
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			got, err := io.ReadAll(newHoldback(wrap(bytes.NewReader(data)), holdbackSize))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("read %d of %d bytes (equal %v): %v", len(got), len(data), bytes.Equal(got, data), err)
			}
			failing := io.MultiReader(wrap(bytes.NewReader(data)), iotest.ErrReader(errProducerDied))
			h := newHoldback(failing, holdbackSize)
			got, err = io.ReadAll(h)
			if !errors.Is(err, errProducerDied) || !errors.Is(h.failed(), errProducerDied) {
				t.Errorf("a failing input: got %v, failed() %v", err, h.failed())
			}
			if len(got) > len(data)-holdbackSize {
				t.Errorf("a failing input gave %d of its %d bytes: more than all but the last %d", len(got), len(data), holdbackSize)
			}
		})
	}
}

func TestLoadedImages(t *testing.T) {
	said := "Loaded image: h2-app:1\nLoaded image: h2-app:latest\nLoaded image ID: sha256:0123\nsomething else\n"
	if got, want := loadedImages(said), []string{"h2-app:1", "h2-app:latest", "sha256:0123"}; !slices.Equal(got, want) {
		t.Errorf("loadedImages = %q, want %q", got, want)
	}
}

// A load without a stream says what from wants.
func TestLoadWithoutStream(t *testing.T) {
	res := sdktest.Run(t, Plugin(), "load", map[string]cty.Value{"socket": cty.StringVal(t.TempDir() + "/none.sock")})
	if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("from")) {
		t.Errorf("want one diagnostic at from, got %v", res.Diagnostics)
	}
}
