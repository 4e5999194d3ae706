package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docker/docker/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type loadArgs struct {
	From   string  `zrun:"from,stream" help:"The docker save tar another step streams (from = step.save.stream), loaded as it arrives."`
	Socket *string `zrun:"socket" help:"The engine's unix socket on the target. Default: DOCKER_HOST (unix://...) on this machine, else /var/run/docker.sock."`
}

type loadOutputs struct {
	Images []string `zrun:"images" help:"What the engine reports loaded: a tag (\"zakupai/app:1.4.2\") for each tagged image, an ID (sha256:...) for an untagged one."`
	Bytes  int64    `zrun:"bytes" help:"How many bytes were read from the stream."`
}

func newLoad() sdk.Action {
	return sdk.NewAction("load",
		"Load images into the target's engine from a docker save tar another step streams (from = step.save.stream). Fails when that step fails, and then loads nothing.",
		runLoad, sdk.WithPlan(planLoad))
}

func planLoad(_ context.Context, _ loadArgs, _ sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{"load the images streamed from another step into " + planTarget(target)}}, nil
}

func runLoad(ctx context.Context, a loadArgs, ui sdk.UI) (loadOutputs, error) {
	in, err := ui.InputStream("from")
	if err != nil {
		return loadOutputs{}, fmt.Errorf("from: %w", err)
	}
	if in == nil {
		return loadOutputs{}, &sdk.ArgError{Path: cty.GetAttrPath("from"), Summary: "Nothing to load",
			Detail: `"from" is the stream of a step that saves images: from = step.save.stream.`}
	}
	defer in.Close()
	c, err := connect(ctx, ui.Target(), a.Socket)
	if err != nil {
		return loadOutputs{}, err
	}
	defer c.Close()

	read := newTransferProgress(ui, "loading")
	src := newHoldback(countingReader{r: in, p: read}, holdbackSize)
	resp, err := c.ImageLoad(ctx, src, client.ImageLoadWithQuiet(true))
	if err := src.failed(); err != nil {
		// The producer failed: the engine was never sent the archive's
		// end, so it loaded nothing, whatever it answered.
		return loadOutputs{Bytes: read.bytes()}, fmt.Errorf("from: %w", err)
	}
	if err != nil {
		return loadOutputs{Bytes: read.bytes()}, fmt.Errorf("load: %w", err)
	}
	defer resp.Body.Close()
	var said strings.Builder
	err = readEngineMessages(resp.Body, io.MultiWriter(&said, ui.Stdout()), nil)
	if err := src.failed(); err != nil {
		return loadOutputs{Bytes: read.bytes()}, fmt.Errorf("from: %w", err)
	}
	if err != nil {
		return loadOutputs{Bytes: read.bytes()}, fmt.Errorf("load failed: %w", err)
	}
	out := loadOutputs{Images: loadedImages(said.String()), Bytes: read.bytes()}
	if len(out.Images) == 0 {
		return out, fmt.Errorf("load: the engine reported no image loaded from %d bytes (it said %q)", out.Bytes, strings.TrimSpace(said.String()))
	}
	return out, nil
}

// loadedImages reads the engine's "Loaded image: NAME:TAG" and "Loaded
// image ID: sha256:..." lines.
func loadedImages(said string) []string {
	var images []string
	for _, line := range strings.Split(said, "\n") {
		line = strings.TrimSpace(line)
		if ref, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
			images = append(images, strings.TrimSpace(ref))
		} else if ref, ok := strings.CutPrefix(line, "Loaded image: "); ok {
			images = append(images, strings.TrimSpace(ref))
		}
	}
	return images
}

// holdbackSize is how many bytes of its input a load keeps back until
// the input has ended well: more than the two zero blocks (1 KiB) that
// end a tar, and any padding to a tar record (10 KiB) after them.
const holdbackSize = 64 << 10

// holdbackRead is how much a holdback reads from its input at a time.
const holdbackRead = 1 << 20

// holdback passes its input on, except for the last size bytes, which it
// gives only once the input has ended with io.EOF. An input that fails
// (a producer that failed, even after its last byte) is never passed on
// whole: the engine, which stops reading at the archive's end, could not
// otherwise be stopped from loading a complete archive whose producer
// failed afterwards. Read is called by one goroutine (the HTTP client's);
// failed may be called by any.
type holdback struct {
	r          io.Reader
	buf        []byte
	start, end int // buf[start:end] read and not yet passed on
	size       int
	eof        bool

	mu  sync.Mutex
	err error // the input's first error
}

func newHoldback(r io.Reader, size int) *holdback {
	return &holdback{r: r, buf: make([]byte, size+holdbackRead), size: size}
}

func (h *holdback) Read(p []byte) (int, error) {
	for !h.eof && h.end-h.start <= h.size {
		if h.end == len(h.buf) {
			h.end = copy(h.buf, h.buf[h.start:h.end])
			h.start = 0
		}
		m, err := h.r.Read(h.buf[h.end:])
		h.end += m
		if errors.Is(err, io.EOF) {
			h.eof = true
		} else if err != nil {
			h.mu.Lock()
			h.err = err
			h.mu.Unlock()
			return 0, err
		}
	}
	give := h.end - h.start
	if !h.eof {
		give -= h.size
	}
	if give == 0 {
		return 0, io.EOF
	}
	k := copy(p, h.buf[h.start:h.start+give])
	h.start += k
	return k, nil
}

// failed is the input's error, if it failed.
func (h *holdback) failed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// countingReader counts what it reads.
type countingReader struct {
	r io.Reader
	p *transferProgress
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(int64(n))
	return n, err
}
