package archive

import (
	"bytes"
	"io"
	"runtime/debug"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// FuzzUnpack feeds unpack untrusted bytes, as a remote may hand it: it
// must fail or give bytes whose outputs agree with what it read, never
// panic or hang. Seeds: small archives of each compression, encrypted
// and not.
func FuzzUnpack(f *testing.F) {
	// The seeds' pack sets the plugin's soft memory limit, under which
	// the fuzzer's own heap would have the collector run without end.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	k := newKeys(f)
	data := mixedBytes(f, 14, 40<<10)
	for _, comp := range []string{"zstd", "gzip", "none"} {
		for _, args := range []map[string]cty.Value{{}, {"recipients": strs(k.public)}} {
			args["compression"] = cty.StringVal(comp)
			p := runPackOn(f, bytes.NewReader(data), args)
			if err := p.res.Diagnostics.Err(); err != nil {
				f.Fatal(err)
			}
			f.Add(p.data, uint8(len(f.Name())%3), len(args) == 2)
		}
	}
	ids, err := parseIdentities(k.secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input []byte, comp uint8, encrypted bool) {
		s := unpackSettings{compression: []string{zstdName, gzipName, noneName}[comp%3], bytes: -1}
		if encrypted {
			s.ids = ids
		}
		packed, raw := newMeter(), newMeter()
		var out bytes.Buffer
		ui := sdktest.NewUI(nil, sdk.RunInfo{})
		err := unpack(t.Context(), ui, s, bytes.NewReader(input), &out, packed, raw)
		if err != nil {
			return
		}
		if packed.n != int64(len(input)) || raw.n != int64(out.Len()) || raw.sum() != sha(out.Bytes()) {
			t.Fatalf("outputs disagree: read %d of %d, gave %d (%d counted)", packed.n, len(input), out.Len(), raw.n)
		}
		_, _ = io.Copy(io.Discard, &out)
	})
}
