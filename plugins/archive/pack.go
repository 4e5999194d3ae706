package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"filippo.io/age"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type packArgs struct {
	From        string   `zrun:"from,stream" help:"The stream to pack, from another step (from = step.dump.stream)."`
	Compression *string  `zrun:"compression" help:"\"zstd\" (the default: every core, klauspost/compress), \"gzip\" (parallel, klauspost/pgzip; for tools that only read gzip) or \"none\"."`
	Level       *string  `zrun:"level" help:"\"fastest\", \"default\" (the default), \"better\", \"best\", or a number: zstd 1-22 (mapped to the four levels: 1-2 fastest, 3-5 default, 6-9 better, 10-22 best), gzip 1-9."`
	Concurrency *int     `zrun:"concurrency" help:"How many cores compress at once, 1 to 16. Default: every core of the machine zrun runs on (16 at most)."`
	Recipients  []string `zrun:"recipients,optional" help:"age public keys (\"age1...\", as age-keygen prints them) to encrypt the compressed stream to: any one of their secret keys unpacks it. Not secret."`
	Passphrase  *string  `zrun:"passphrase,sensitive" help:"Encrypt the compressed stream with this passphrase instead (age's scrypt, work factor 18: a second and 256 MiB once). Not with recipients."`
}

type packOutputs struct {
	Stream      string   `zrun:"stream,stream" help:"The packed bytes, streamed as they are made: connect them to an upload (from = step.NAME.stream)."`
	Bytes       int64    `zrun:"bytes" help:"The size of the packed stream: what will be stored."`
	SHA256      string   `zrun:"sha256" help:"The SHA-256 of the packed stream (lowercase hex), for the backup's manifest and unpack's sha256."`
	RawBytes    int64    `zrun:"raw_bytes" help:"The size of the input."`
	RawSHA256   string   `zrun:"raw_sha256" help:"The SHA-256 of the input (lowercase hex)."`
	Compression string   `zrun:"compression" help:"The compression written: zstd, gzip or none."`
	Encrypted   bool     `zrun:"encrypted" help:"Whether the stream is encrypted with age."`
	Encryption  string   `zrun:"encryption" help:"\"none\", \"age\" (to recipients) or \"age-passphrase\"."`
	Recipients  []string `zrun:"recipients" help:"The age recipients the stream is encrypted to (empty for none or a passphrase)."`
	Ratio       float64  `zrun:"ratio" help:"bytes / raw_bytes (0 for an empty input)."`
}

// maxConcurrency bounds concurrency: the most workers whose buffers fit
// zstdBudget at the smallest window.
const maxConcurrency = 16

func newPack() sdk.Action {
	return sdk.NewAction("pack",
		"Compress a stream (zstd on every core, or gzip) and optionally encrypt it with age (compress, then encrypt), "+
			"streaming: no temporary file, memory bounded whatever the size. Outputs the sizes and SHA-256 of both sides.",
		runPack, sdk.WithValidate(validatePack), sdk.WithPlan(planPack))
}

func validatePack(_ context.Context, a packArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	name := zstdName
	if known.Has("compression") && a.Compression != nil {
		name = *a.Compression
		if err := checkCompression(name); err != nil {
			return diags.Errorf(cty.GetAttrPath("compression"), "Unknown compression", upperFirst(err.Error())+".")
		}
	}
	if known.Has("compression") && known.Has("level") {
		if _, err := newCodec(name, a.Level, 1); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("level"), "Invalid level", upperFirst(err.Error())+".")
		}
	}
	if known.Has("concurrency") && a.Concurrency != nil && (*a.Concurrency < 1 || *a.Concurrency > maxConcurrency) {
		diags = diags.Errorf(cty.GetAttrPath("concurrency"), "Invalid concurrency",
			fmt.Sprintf("concurrency is how many cores compress at once: 1 to %d, not %d. Leave it out to use every core.", maxConcurrency, *a.Concurrency))
	}
	if known.Has("recipients") {
		_, more := parseRecipients(a.Recipients)
		diags = append(diags, more...)
	}
	if known.Has("passphrase") && a.Passphrase != nil {
		switch {
		case len(a.Recipients) > 0:
			diags = diags.Errorf(cty.GetAttrPath("passphrase"), "Conflicting arguments",
				`Encrypt either to "recipients" (age public keys) or with a "passphrase", not both. Remove one of them.`)
		case *a.Passphrase == "":
			diags = diags.Errorf(cty.GetAttrPath("passphrase"), "Empty passphrase",
				`An empty passphrase protects nothing. Give one through secret., or leave "passphrase" out.`)
		}
	}
	return diags
}

// packSettings are a pack's arguments, read.
type packSettings struct {
	codec      codec
	recipients []age.Recipient
	encryption string
}

func readPackArgs(a packArgs) (packSettings, error) {
	name := zstdName
	if a.Compression != nil {
		name = *a.Compression
	}
	n := min(runtime.NumCPU(), maxConcurrency)
	if a.Concurrency != nil {
		n = *a.Concurrency
	}
	c, err := newCodec(name, a.Level, n)
	if err != nil {
		return packSettings{}, err
	}
	s := packSettings{codec: c, encryption: "none"}
	switch {
	case a.Passphrase != nil:
		r, err := scryptRecipient(*a.Passphrase)
		if err != nil {
			return s, err
		}
		s.recipients, s.encryption = []age.Recipient{r}, "age-passphrase"
	case len(a.Recipients) > 0:
		rs, diags := parseRecipients(a.Recipients)
		if err := diags.Err(); err != nil {
			return s, err
		}
		s.recipients, s.encryption = rs, "age"
	}
	return s, nil
}

func (s packSettings) describe(recipients int) string {
	switch s.encryption {
	case "age":
		return fmt.Sprintf("%s, encrypted with age to %d recipient(s)", s.codec.describe(), recipients)
	case "age-passphrase":
		return s.codec.describe() + ", encrypted with age and a passphrase"
	}
	return s.codec.describe() + ", not encrypted"
}

func planPack(_ context.Context, a packArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	if !allKnown(known, "compression", "level", "concurrency", "recipients", "passphrase") {
		return &sdk.PlanResponse{Changes: []string{"pack the stream with settings known at run time"}}, nil
	}
	s, err := readPackArgs(a)
	if err != nil {
		return nil, err
	}
	return &sdk.PlanResponse{Changes: []string{"pack the stream: " + s.describe(len(a.Recipients))}}, nil
}

// errNoConsumer is a pack whose stream no step reads.
var errNoConsumer = errors.New(`no step reads this step's stream: a pack that goes nowhere is a mistake, so it fails before it reads anything. ` +
	`Connect it to an upload (rclone.upload { from = step.NAME.stream }) or another step's stream argument`)

func runPack(ctx context.Context, a packArgs, ui sdk.UI) (packOutputs, error) {
	limitMemory()
	s, err := readPackArgs(a)
	if err != nil {
		return packOutputs{}, err
	}
	in, err := ui.InputStream("from")
	if err != nil {
		return packOutputs{}, fmt.Errorf("from: %w", err)
	}
	if in == nil {
		return packOutputs{}, &sdk.ArgError{Path: cty.GetAttrPath("from"), Summary: "Nothing to pack",
			Detail: `"from" is the stream of a step that produces one: from = step.dump.stream.`}
	}
	defer in.Close()
	out, err := ui.OutputStream("stream")
	if err != nil {
		return packOutputs{}, err
	}
	if out == nil {
		return packOutputs{}, errNoConsumer
	}
	defer out.Close()
	stop := context.AfterFunc(ctx, func() { _ = in.Close() })
	defer stop()

	raw, packed := newMeter(), newMeter()
	res := packOutputs{Compression: s.codec.name, Encryption: s.encryption, Encrypted: s.encryption != "none", Recipients: trimmed(a.Recipients)}
	if s.encryption != "age" {
		res.Recipients = []string{}
	}
	ui.Logf("packing: %s", s.describe(len(a.Recipients)))
	if err := pack(ctx, ui, s, in, out, raw, packed); err != nil {
		return res, stopped(ctx, err)
	}
	res.Bytes, res.SHA256, res.RawBytes, res.RawSHA256 = packed.n, packed.sum(), raw.n, raw.sum()
	if raw.n > 0 {
		res.Ratio = float64(packed.n) / float64(raw.n)
	}
	ui.Logf("packed %d bytes into %d (%.3f)", raw.n, packed.n, res.Ratio)
	return res, nil
}

// pack copies in to out through the compressor and the encryption,
// metering both sides. Until it has read all of in, it never writes the
// ends of the compressed and encrypted streams: what a failed pack wrote
// is not a valid archive, whatever its consumer does with it.
func pack(ctx context.Context, ui sdk.UI, s packSettings, in io.Reader, out io.Writer, raw, packed *meter) error {
	mw := &meteredWriter{w: out, m: packed}
	var sink io.WriteCloser = nopWriteCloser{mw}
	if len(s.recipients) > 0 {
		enc, err := age.Encrypt(mw, s.recipients...)
		if err != nil {
			return fmt.Errorf("starting the encryption: %w", err)
		}
		sink = enc
	}
	comp, err := s.codec.writer(sink)
	if err != nil {
		return fmt.Errorf("starting the compression: %w", err)
	}
	// closeAll ends the compressed stream, then the encrypted one: the
	// latter only if the former ended well, so that age never seals a
	// broken compressed stream as whole.
	closeAll := func() error {
		if err := comp.Close(); err != nil {
			mw.fail()
			return errors.Join(err, sink.Close())
		}
		return sink.Close()
	}
	p := newProgress(ui, "packing")
	src := &meteredReader{ctx: ctx, r: in, m: raw, after: func(n int64) error { p.report(n); return nil }}
	_, err = io.CopyBuffer(onlyWriter{comp}, src, make([]byte, 1<<20))
	switch {
	case src.failed() != nil:
		err = fmt.Errorf("from: %w", src.failed())
	case err != nil:
		err = packWriteError(mw, err)
	}
	if err != nil {
		mw.fail()
		_ = closeAll() // releases the compressor's goroutines, and writes nothing
		return err
	}
	if err := closeAll(); err != nil {
		return packWriteError(mw, err)
	}
	p.done(raw.n)
	return nil
}

// packWriteError says why writing the packed stream failed.
func packWriteError(mw *meteredWriter, err error) error {
	if mw.writeErr() != nil {
		return fmt.Errorf("writing the stream: %w", mw.writeErr())
	}
	return fmt.Errorf("compressing: %w", err)
}

// onlyWriter hides a compressor's ReadFrom, so that the copy reads into
// its large buffer and the input is metered as it is read.
type onlyWriter struct{ io.Writer }

// allKnown reports whether every one of args is known. A stream (from)
// never is before the run: plans leave it out.
func allKnown(known sdk.Known, args ...string) bool {
	for _, a := range args {
		if !known.Has(a) {
			return false
		}
	}
	return true
}

// stopped is err, or the step's cancellation when that is what ended
// it (closing the input on cancellation fails its read).
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("stopped: %w", context.Cause(ctx))
	}
	return err
}

func trimmed(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
