package archive

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type unpackArgs struct {
	From        string  `zrun:"from,stream" help:"The packed stream, from another step (from = step.download.stream)."`
	Compression *string `zrun:"compression" help:"How the stream was compressed: \"zstd\" (the default), \"gzip\" or \"none\"."`
	Identity    *string `zrun:"identity,sensitive" help:"For an input encrypted to age recipients: the secret key of one of them (\"AGE-SECRET-KEY-1...\"), or several, one a line. Through secret."`
	Passphrase  *string `zrun:"passphrase,sensitive" help:"For an input encrypted with a passphrase: the passphrase. Through secret."`
	SHA256      *string `zrun:"sha256" help:"The SHA-256 the packed input must have (lowercase hex, as pack's sha256 output and the backup's manifest give it). The step fails if it differs."`
	Bytes       *int64  `zrun:"bytes" help:"The size the packed input must have. The step fails if it differs, as soon as the input is longer."`
}

type unpackOutputs struct {
	Stream    string `zrun:"stream,stream" help:"The original bytes. Its consumer sees their end only once every check passed, and an error instead if one fails. When no step reads it, unpack only checks its input."`
	Bytes     int64  `zrun:"bytes" help:"The size of the packed input."`
	SHA256    string `zrun:"sha256" help:"The SHA-256 of the packed input (lowercase hex)."`
	RawBytes  int64  `zrun:"raw_bytes" help:"The size of the unpacked stream."`
	RawSHA256 string `zrun:"raw_sha256" help:"The SHA-256 of the unpacked stream, to compare with pack's raw_sha256."`
}

func newUnpack() sdk.Action {
	return sdk.NewAction("unpack",
		"Decrypt (age) and decompress (zstd, gzip) a stream archive.pack wrote, checking its SHA-256 and size as it reads. "+
			"Any failed check, a flipped byte or a cut fails the step, and its consumer's read with it. Without a consumer it only checks.",
		runUnpack, sdk.WithValidate(validateUnpack), sdk.WithPlan(planUnpack))
}

func validateUnpack(_ context.Context, a unpackArgs, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("compression") && a.Compression != nil {
		if err := checkCompression(*a.Compression); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("compression"), "Unknown compression", upperFirst(err.Error())+".")
		}
	}
	if known.Has("identity") && known.Has("passphrase") && a.Identity != nil && a.Passphrase != nil {
		diags = diags.Errorf(cty.GetAttrPath("passphrase"), "Conflicting arguments",
			`An archive is encrypted either to age recipients (give "identity") or with a passphrase (give "passphrase"), not both. Remove one of them.`)
	}
	if known.Has("identity") && a.Identity != nil {
		if _, err := parseIdentities(*a.Identity); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("identity"), "Invalid identity", upperFirst(err.Error())+".")
		}
	}
	if known.Has("passphrase") && a.Passphrase != nil && *a.Passphrase == "" {
		diags = diags.Errorf(cty.GetAttrPath("passphrase"), "Empty passphrase", `The passphrase is empty: give the one the archive was packed with, or leave "passphrase" out.`)
	}
	if known.Has("sha256") && a.SHA256 != nil {
		if _, err := parseSHA256(*a.SHA256); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("sha256"), "Invalid SHA-256", upperFirst(err.Error())+".")
		}
	}
	if known.Has("bytes") && a.Bytes != nil && *a.Bytes < 0 {
		diags = diags.Errorf(cty.GetAttrPath("bytes"), "Invalid size", fmt.Sprintf("bytes is the packed input's size, at least 0, not %d.", *a.Bytes))
	}
	return diags
}

// parseSHA256 reads a SHA-256 in hex, with or without a "sha256:" prefix.
func parseSHA256(s string) (string, error) {
	h := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"))
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return "", errors.New(`a SHA-256 is 64 hexadecimal digits (as pack's sha256 output gives it), optionally after "sha256:"`)
	}
	return h, nil
}

// unpackSettings are an unpack's arguments, read.
type unpackSettings struct {
	compression string
	ids         []age.Identity
	passphrase  bool
	sha256      string // "" when not checked
	bytes       int64  // -1 when not checked
}

func readUnpackArgs(a unpackArgs) (unpackSettings, error) {
	s := unpackSettings{compression: zstdName, bytes: -1}
	if a.Compression != nil {
		s.compression = *a.Compression
	}
	var err error
	switch {
	case a.Identity != nil:
		s.ids, err = parseIdentities(*a.Identity)
	case a.Passphrase != nil:
		var id age.Identity
		id, err = scryptIdentity(*a.Passphrase)
		s.ids, s.passphrase = []age.Identity{id}, true
	}
	if err != nil {
		return s, err
	}
	if a.SHA256 != nil {
		if s.sha256, err = parseSHA256(*a.SHA256); err != nil {
			return s, err
		}
	}
	if a.Bytes != nil {
		s.bytes = *a.Bytes
	}
	return s, nil
}

func (s unpackSettings) describe() string {
	var parts []string
	switch {
	case s.passphrase:
		parts = append(parts, "decrypt with the passphrase")
	case len(s.ids) > 0:
		parts = append(parts, fmt.Sprintf("decrypt with %d age identity(ies)", len(s.ids)))
	}
	if s.compression == noneName {
		parts = append(parts, "no decompression")
	} else {
		parts = append(parts, "decompress "+s.compression)
	}
	switch {
	case s.sha256 != "" && s.bytes >= 0:
		parts = append(parts, fmt.Sprintf("check sha256 %s… and %d bytes", s.sha256[:12], s.bytes))
	case s.sha256 != "":
		parts = append(parts, fmt.Sprintf("check sha256 %s…", s.sha256[:12]))
	case s.bytes >= 0:
		parts = append(parts, fmt.Sprintf("check %d bytes", s.bytes))
	}
	return strings.Join(parts, ", ")
}

func planUnpack(_ context.Context, a unpackArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	if !allKnown(known, "compression", "identity", "passphrase", "sha256", "bytes") {
		return &sdk.PlanResponse{Changes: []string{"unpack the stream with settings known at run time"}}, nil
	}
	s, err := readUnpackArgs(a)
	if err != nil {
		return nil, err
	}
	return &sdk.PlanResponse{Changes: []string{"unpack the stream: " + s.describe()}}, nil
}

func runUnpack(ctx context.Context, a unpackArgs, ui sdk.UI) (unpackOutputs, error) {
	limitMemory()
	s, err := readUnpackArgs(a)
	if err != nil {
		return unpackOutputs{}, err
	}
	in, err := ui.InputStream("from")
	if err != nil {
		return unpackOutputs{}, fmt.Errorf("from: %w", err)
	}
	if in == nil {
		return unpackOutputs{}, &sdk.ArgError{Path: cty.GetAttrPath("from"), Summary: "Nothing to unpack",
			Detail: `"from" is the stream of a step that produces a packed archive: from = step.download.stream.`}
	}
	defer in.Close()
	out, err := ui.OutputStream("stream")
	if err != nil {
		return unpackOutputs{}, err
	}
	var dst io.Writer = io.Discard
	if out != nil {
		defer out.Close()
		dst = out
	} else {
		ui.Logf("no step reads the stream: checking the input only")
	}
	stop := context.AfterFunc(ctx, func() { _ = in.Close() })
	defer stop()

	packed, raw := newMeter(), newMeter()
	ui.Logf("unpacking: %s", s.describe())
	err = unpack(ctx, ui, s, in, dst, packed, raw)
	res := unpackOutputs{Bytes: packed.n, SHA256: packed.sum(), RawBytes: raw.n, RawSHA256: raw.sum()}
	if err != nil {
		return res, stopped(ctx, err)
	}
	ui.Logf("unpacked %d bytes into %d", packed.n, raw.n)
	return res, nil
}

// unpack copies in to out through the decryption and the decompressor,
// metering both sides, then checks that in ended where its formats end
// and matches what the settings expect. The last holdbackSize bytes
// reach out only after every check passed.
func unpack(ctx context.Context, ui sdk.UI, s unpackSettings, in io.Reader, out io.Writer, packed, raw *meter) error {
	src := &meteredReader{ctx: ctx, r: in, m: packed}
	if s.bytes >= 0 {
		src.after = func(n int64) error {
			if n > s.bytes {
				return fmt.Errorf("the input is longer than the %d bytes expected", s.bytes)
			}
			return nil
		}
	}
	inputFailed := func(err error) error {
		if f := src.failed(); f != nil {
			return fmt.Errorf("from: %w", f)
		}
		return err
	}
	br := bufio.NewReaderSize(src, 64<<10)
	plain, err := openInput(br, s)
	if err != nil {
		return inputFailed(err)
	}
	dec, err := reader(plain, s.compression)
	if err != nil {
		return inputFailed(fmt.Errorf("the input is not a valid %s stream: %v", s.compression, err))
	}
	p := newProgress(ui, "unpacking")
	rawSrc := &meteredReader{ctx: ctx, r: dec, m: raw, after: func(n int64) error { p.report(n); return nil }}
	dw := &meteredWriter{w: out}
	hold := newHoldback(dw, holdbackSize)
	_, err = io.CopyBuffer(onlyWriter{hold}, rawSrc, make([]byte, 1<<20))
	_ = dec.Close() // its goroutines end before the input is looked at again
	switch {
	case src.failed() != nil:
		return inputFailed(nil)
	case dw.writeErr() != nil:
		return fmt.Errorf("writing the stream: %w", dw.writeErr())
	case errors.Is(rawSrc.failed(), errNotDecrypted):
		return rawSrc.failed()
	case rawSrc.failed() != nil:
		return fmt.Errorf("the input is not a valid %s stream: %v", s.compression, rawSrc.failed())
	case err != nil:
		return err
	}
	if err := checkInputEnd(br, s, packed); err != nil {
		return inputFailed(err)
	}
	if err := hold.Flush(); err != nil {
		return fmt.Errorf("writing the stream: %w", err)
	}
	p.done(raw.n)
	return nil
}

// openInput checks that the input is what s expects (encrypted or not,
// compressed as said) and returns its plaintext, decrypted as it is
// read.
func openInput(br *bufio.Reader, s unpackSettings) (*bufio.Reader, error) {
	kind := sniff(br)
	if _, err := br.Peek(1); err != nil {
		switch {
		case len(s.ids) > 0:
			return nil, errors.New("the input is empty: an age file has at least a header")
		case s.compression != noneName:
			return nil, fmt.Errorf("the input is empty: a %s archive has at least a header", s.compression)
		}
	}
	plain := br
	switch {
	case kind == "age" && len(s.ids) == 0:
		return nil, errors.New(`the input is encrypted with age: give unpack the "identity" (a secret key of one of its recipients) or the "passphrase" it was packed with`)
	case kind != "age" && len(s.ids) > 0:
		return nil, fmt.Errorf("the input is not encrypted with age (it starts as %s), yet unpack was given an identity or a passphrase: remove it, or check that this is the right archive", describeKind(kind))
	case kind == "age":
		var src io.Reader = br
		if head, _ := br.Peek(len(armor.Header)); string(head) == armor.Header {
			src = armor.NewReader(br) // age -a
		}
		r, err := decrypt(src, s.ids, s.passphrase)
		if err != nil {
			return nil, err
		}
		plain = bufio.NewReaderSize(r, 64<<10)
		kind = sniff(plain)
	}
	if s.compression != noneName && kind != s.compression {
		if kind == zstdName || kind == gzipName {
			return nil, fmt.Errorf("the input is compressed with %s, not %s: set compression = %q", kind, s.compression, kind)
		}
		return nil, fmt.Errorf("the input is not %s-compressed (it starts as %s)", s.compression, describeKind(kind))
	}
	return plain, nil
}

func describeKind(kind string) string {
	if kind == "" {
		return "neither zstd, gzip nor age"
	}
	return kind
}

// checkInputEnd reads what is left of the input after its formats ended
// (which must be nothing) and checks its size and hash.
func checkInputEnd(br *bufio.Reader, s unpackSettings, packed *meter) error {
	n, err := io.Copy(io.Discard, br)
	switch {
	case err != nil:
		return err
	case n > 0:
		return fmt.Errorf("%d bytes follow the end of the archive: the input is not one archive as pack writes it", n)
	case s.bytes >= 0 && packed.n != s.bytes:
		return fmt.Errorf("the input has %d bytes, not the %d expected: it is not the archive the manifest describes", packed.n, s.bytes)
	case s.sha256 != "" && packed.sum() != s.sha256:
		return fmt.Errorf("the input's sha256 is %s, not the %s expected: it is not the archive the manifest describes, or it was altered", packed.sum(), s.sha256)
	}
	return nil
}
