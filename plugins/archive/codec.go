package archive

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"filippo.io/age/armor"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// The compressions pack writes and unpack reads.
const (
	zstdName = "zstd"
	gzipName = "gzip"
	noneName = "none"
)

// zstdBudget is what pack's zstd encoder may hold at once, whatever the
// number of cores: the window (the farthest back a match may reach)
// shrinks as workers are added (zstdWindowFor).
const zstdBudget = 64 << 20

// The windows pack's zstd encoder chooses from: klauspost's default for
// zstd's level 3 at most, and at least a size below which the ratio
// suffers more than memory is worth.
const (
	zstdMaxPackWindow = 8 << 20
	zstdMinPackWindow = 128 << 10
)

// zstdWindowFor is the window of n workers: the largest whose buffers
// (zstdMemory) fit zstdBudget.
func zstdWindowFor(n int) int {
	w := zstdMaxPackWindow
	for w > zstdMinPackWindow && zstdMemory(n, w) > zstdBudget {
		w /= 2
	}
	return w
}

// zstdMemory bounds what pack's zstd encoder holds at once for n workers
// and a window w. With n > 1 it compresses jobs of 4 windows in
// parallel (WithConcurrentBlocks): n jobs queued for the writer, the one
// it writes, the one being handed over and the one being filled, each
// with its output (as large as its input for random data, and grown by
// appends: a quarter more), and each worker's history (twice its
// window) and match tables (about 2 MiB at the default level). With one
// worker, it compresses block by block: its history, tables and a block
// or two.
func zstdMemory(n, w int) int64 {
	const tables = 2 << 20
	if n <= 1 {
		return 3*int64(w) + tables
	}
	job := int64(max(4*w, 512<<10))
	return int64(n+3)*2*job*5/4 + int64(n)*(2*int64(w)+tables)
}

// zstdMaxWindow is the largest window unpack accepts in a zstd frame:
// zstd --ultra -22 and --long use 128 MiB; pack 8 MiB at most. A frame
// that asks for more is refused rather than allowed to take the memory.
const zstdMaxWindow = 128 << 20

// gzipBlock is the input of one block of the parallel gzip encoder.
const gzipBlock = 1 << 20

// gzipMemory is the same for gzip: 2n blocks in flight and the one being
// filled, each with its output (as large as the block for random data)
// and its compressor's state (about 1 MiB at level 6, less the faster).
func gzipMemory(n int) int64 { return int64(2*n+1) * gzipBlock * 4 }

// codec is a compression with its settings, as pack writes it.
type codec struct {
	name        string
	zstdLevel   zstd.EncoderLevel
	gzipLevel   int
	levelName   string // as the operator gave it, or the default's name
	concurrency int
}

// checkCompression says what is wrong with a compression's name.
func checkCompression(name string) error {
	switch name {
	case zstdName, gzipName, noneName:
		return nil
	}
	return fmt.Errorf(`%q is not a compression this plugin knows: use "zstd" (the default, on every core), "gzip" (for tools that only read gzip) or "none"`, name)
}

// levelNames are the named levels, with the gzip level each stands for.
var levelNames = map[string]int{"fastest": 1, "default": 6, "better": 8, "best": 9}

var zstdLevels = map[string]zstd.EncoderLevel{
	"fastest": zstd.SpeedFastest, "default": zstd.SpeedDefault,
	"better": zstd.SpeedBetterCompression, "best": zstd.SpeedBestCompression,
}

// newCodec reads a compression's level: a name (fastest, default,
// better, best) or zstd's 1-22 (mapped to klauspost's four levels as
// zstd.EncoderLevelFromZstd does) or gzip's 1-9.
func newCodec(name string, level *string, concurrency int) (codec, error) {
	c := codec{name: name, concurrency: concurrency, levelName: "default", zstdLevel: zstd.SpeedDefault, gzipLevel: 6}
	if level == nil {
		return c, nil
	}
	l := strings.TrimSpace(*level)
	c.levelName = l
	if name == noneName {
		return c, fmt.Errorf(`compression "none" has no level: remove "level", or choose a compression`)
	}
	n, numErr := strconv.Atoi(l)
	switch {
	case numErr != nil && levelNames[l] == 0:
		return c, fmt.Errorf(`%q is not a level: use "fastest", "default", "better", "best" or a number (zstd 1-22, gzip 1-9)`, l)
	case numErr != nil:
		c.zstdLevel, c.gzipLevel = zstdLevels[l], levelNames[l]
	case name == zstdName && (n < 1 || n > 22):
		return c, fmt.Errorf("a zstd level is 1 to 22, not %d (3 is zstd's default)", n)
	case name == gzipName && (n < 1 || n > 9):
		return c, fmt.Errorf("a gzip level is 1 to 9, not %d (6 is gzip's default)", n)
	default:
		c.zstdLevel, c.gzipLevel = zstd.EncoderLevelFromZstd(n), n
	}
	return c, nil
}

// describe says what the codec writes, for logs and plans.
func (c codec) describe() string {
	switch c.name {
	case zstdName:
		return fmt.Sprintf("zstd (level %s: klauspost's %s, %d workers, %d KiB window)", c.levelName, c.zstdLevel, c.concurrency, zstdWindowFor(c.concurrency)>>10)
	case gzipName:
		return fmt.Sprintf("gzip (level %d, %d workers)", c.gzipLevel, c.concurrency)
	}
	return "no compression"
}

// writer compresses what it is given into w; Close writes the end of the
// stream (a stream that is never closed is not a valid one).
func (c codec) writer(w io.Writer) (io.WriteCloser, error) {
	switch c.name {
	case zstdName:
		return zstd.NewWriter(w,
			zstd.WithEncoderLevel(c.zstdLevel),
			zstd.WithWindowSize(zstdWindowFor(c.concurrency)),
			zstd.WithEncoderConcurrency(c.concurrency),
			zstd.WithConcurrentBlocks(c.concurrency > 1),
			// Entropy-code blocks without matches too (hex or base64 in
			// a dump): klauspost does it only above its default level.
			zstd.WithAllLitEntropyCompression(true),
			zstd.WithEncoderCRC(true))
	case gzipName:
		z, err := pgzip.NewWriterLevel(w, c.gzipLevel)
		if err != nil {
			return nil, err
		}
		if err := z.SetConcurrency(gzipBlock, 2*c.concurrency); err != nil {
			return nil, err
		}
		return z, nil
	}
	return nopWriteCloser{w}, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// reader decompresses r, which sniff has looked at: a zstd stream (one
// frame or several, each with its checksum), gzip members (each with
// its CRC-32 and size), or anything for "none".
func reader(r *bufio.Reader, name string) (io.ReadCloser, error) {
	switch name {
	case zstdName:
		d, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case gzipName:
		z, err := pgzip.NewReaderN(r, gzipBlock, 4)
		if err != nil {
			return nil, err
		}
		return z, nil
	}
	return io.NopCloser(r), nil
}

// Magic numbers, and what sniff calls what starts with them.
var magics = []struct {
	prefix []byte
	what   string
}{
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, zstdName},
	{[]byte{0x1f, 0x8b}, gzipName},
	{[]byte("age-encryption.org/"), "age"},
	{[]byte(armor.Header), "age"},
}

// sniff says what r's next bytes are ("zstd", "gzip", "age"), or "" for
// none of those; it reads nothing off r.
func sniff(r *bufio.Reader) string {
	head, _ := r.Peek(len(armor.Header))
	for _, m := range magics {
		if bytes.HasPrefix(head, m.prefix) {
			return m.what
		}
	}
	return ""
}

// unpackMemory bounds what unpack holds for a stream pack wrote: zstd's
// window and the decoder's blocks in flight (4 stages of up to 128 KiB
// and their history), pgzip's 4 blocks of 1 MiB, the holdback, buffers.
const unpackMemory = 2*zstdMaxPackWindow + 4*gzipBlock + 2*holdbackSize
