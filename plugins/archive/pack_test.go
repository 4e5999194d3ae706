package archive

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// encryptions are the three ways a pack encrypts, with the arguments
// pack and unpack take for each.
func encryptions(t *testing.T) map[string]struct{ pack, unpack map[string]cty.Value } {
	k1, k2 := newKeys(t), newKeys(t)
	return map[string]struct{ pack, unpack map[string]cty.Value }{
		"plain":      {pack: map[string]cty.Value{}, unpack: map[string]cty.Value{}},
		"recipients": {pack: map[string]cty.Value{"recipients": strs(k1.public, k2.public)}, unpack: map[string]cty.Value{"identity": cty.StringVal("# the second\n" + k2.secret + "\n")}},
		"passphrase": {pack: map[string]cty.Value{"passphrase": cty.StringVal("correct horse battery staple")}, unpack: map[string]cty.Value{"passphrase": cty.StringVal("correct horse battery staple")}},
	}
}

// Every compression and encryption round-trips 64 MiB of mixed data,
// with the outputs of both sides agreeing.
func TestRoundTrip(t *testing.T) {
	data := big()
	for _, comp := range []string{"zstd", "gzip", "none"} {
		for name, enc := range encryptions(t) {
			t.Run(comp+"/"+name, func(t *testing.T) {
				args := map[string]cty.Value{"compression": cty.StringVal(comp)}
				for k, v := range enc.pack {
					args[k] = v
				}
				p := runPackOn(t, bytes.NewReader(data), args)
				if err := p.res.Diagnostics.Err(); err != nil {
					t.Fatal(err)
				}
				checkPackOutputs(t, p, data, comp, name)

				uargs := map[string]cty.Value{"compression": cty.StringVal(comp),
					"sha256": p.out("sha256"), "bytes": p.out("bytes")}
				for k, v := range enc.unpack {
					uargs[k] = v
				}
				u := runUnpackOn(t, p.data, uargs)
				if err := u.res.Diagnostics.Err(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(u.data, data) {
					t.Fatalf("unpack gave %d bytes (sha256 %s), want the %d packed (%s)", len(u.data), sha(u.data), len(data), sha(data))
				}
				for _, o := range []string{"bytes", "sha256"} {
					if !u.out(o).RawEquals(p.out(o)) {
						t.Errorf("unpack's %s %#v, pack's %#v", o, u.out(o), p.out(o))
					}
					if !u.out("raw_" + o).RawEquals(p.out("raw_" + o)) {
						t.Errorf("unpack's raw_%s %#v, pack's %#v", o, u.out("raw_"+o), p.out("raw_"+o))
					}
				}
			})
		}
	}
}

func checkPackOutputs(t *testing.T, p packed, data []byte, comp, enc string) {
	t.Helper()
	n, _ := p.out("bytes").AsBigFloat().Int64()
	raw, _ := p.out("raw_bytes").AsBigFloat().Int64()
	if n != int64(len(p.data)) || p.out("sha256").AsString() != sha(p.data) {
		t.Errorf("pack says %d bytes %s, its stream is %d bytes %s", n, p.out("sha256").AsString(), len(p.data), sha(p.data))
	}
	if raw != int64(len(data)) || p.out("raw_sha256").AsString() != sha(data) {
		t.Errorf("pack says it read %d bytes %s, it was given %d %s", raw, p.out("raw_sha256").AsString(), len(data), sha(data))
	}
	if got := p.out("compression").AsString(); got != comp {
		t.Errorf("compression = %q, want %q", got, comp)
	}
	if got := p.out("encrypted").True(); got != (enc != "plain") {
		t.Errorf("encrypted = %v for %s", got, enc)
	}
	if got := p.out("recipients").LengthInt(); (enc == "recipients") != (got == 2) || (enc != "recipients" && got != 0) {
		t.Errorf("recipients has %d elements for %s", got, enc)
	}
	ratio, _ := p.out("ratio").AsBigFloat().Float64()
	if want := float64(n) / float64(raw); ratio != want {
		t.Errorf("ratio = %v, want %v", ratio, want)
	}
	if comp != "none" && ratio > 0.6 {
		t.Errorf("%s packed the mixed data to %.2f of its size: not compressed", comp, ratio)
	}
	t.Logf("%s/%s: %d -> %d bytes (%.3f)", comp, enc, raw, n, ratio)
}

// What pack writes is what the libraries themselves read: age's
// Decrypt, then klauspost's zstd or gzip reader.
func TestPackReadByTheLibraries(t *testing.T) {
	data := mixedBytes(t, 2, sized(20<<20))
	k := newKeys(t)
	for _, comp := range []string{"zstd", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			p := runPackOn(t, bytes.NewReader(data), map[string]cty.Value{"compression": cty.StringVal(comp), "recipients": strs(k.public)})
			if err := p.res.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			id, err := age.ParseX25519Identity(k.secret)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := age.Decrypt(bytes.NewReader(p.data), id)
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader
			if comp == "zstd" {
				d, err := zstd.NewReader(plain)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				r = d
			} else {
				z, err := pgzip.NewReader(plain)
				if err != nil {
					t.Fatal(err)
				}
				r = z
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes (equal %v): %v", len(got), bytes.Equal(got, data), err)
			}
		})
	}
}

// Every level name and number is taken, and maps as documented.
func TestLevels(t *testing.T) {
	tests := map[string]struct {
		comp, level string
		want        string // describe()'s start, or the error's text
		wantErr     bool
	}{
		"zstd default":    {comp: "zstd", level: "default", want: "zstd (level default: klauspost's default"},
		"zstd 1":          {comp: "zstd", level: "1", want: "klauspost's fastest"},
		"zstd 19":         {comp: "zstd", level: "19", want: "klauspost's best"},
		"zstd 7":          {comp: "zstd", level: "7", want: "klauspost's better"},
		"zstd 23":         {comp: "zstd", level: "23", want: "1 to 22", wantErr: true},
		"gzip 9":          {comp: "gzip", level: "9", want: "gzip (level 9"},
		"gzip best":       {comp: "gzip", level: "best", want: "gzip (level 9"},
		"gzip 10":         {comp: "gzip", level: "10", want: "1 to 9", wantErr: true},
		"none with level": {comp: "none", level: "3", want: "no level", wantErr: true},
		"a word":          {comp: "zstd", level: "max", want: "not a level", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := newCodec(tc.comp, &tc.level, 2)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want one saying %q", err, tc.want)
				}
				return
			}
			if err != nil || !strings.Contains(c.describe(), tc.want) {
				t.Errorf("describe() = %q, err %v; want %q in it", c.describe(), err, tc.want)
			}
		})
	}
}

var errDumpDied = errors.New("step.dump failed: pg_dump exited with code 137")

// A pack whose input fails fails with the input's error, and what it
// wrote until then is no archive: unpack refuses it, for every format.
func TestPackInputFails(t *testing.T) {
	data := mixedBytes(t, 7, sized(40<<20))
	k := newKeys(t)
	for _, comp := range []string{"zstd", "gzip", "none"} {
		for name, enc := range map[string]map[string]cty.Value{"plain": nil, "age": {"recipients": strs(k.public)}} {
			t.Run(comp+"/"+name, func(t *testing.T) {
				args := map[string]cty.Value{"compression": cty.StringVal(comp)}
				uargs := map[string]cty.Value{"compression": cty.StringVal(comp)}
				for k, v := range enc {
					args[k] = v
				}
				if enc != nil {
					uargs["identity"] = cty.StringVal(k.secret)
				}
				input := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errDumpDied))
				p := runPackOn(t, input, args)
				err := p.res.Diagnostics.Err()
				if err == nil || !strings.Contains(err.Error(), errDumpDied.Error()) {
					t.Fatalf("want the input's failure, got %v", err)
				}
				if comp == "none" && enc == nil {
					return // the bytes as they came: only their consumer's failed read tells
				}
				if len(p.data) == 0 {
					t.Fatal("the pack wrote nothing: the test tests nothing")
				}
				u := runUnpackOn(t, p.data, uargs)
				if err := u.res.Diagnostics.Err(); err == nil {
					t.Errorf("the %d bytes of a failed pack unpacked into %d bytes", len(p.data), len(u.data))
				}
			})
		}
	}
}

// A pack nobody reads fails before it reads; one without from says what
// from wants.
func TestPackErrors(t *testing.T) {
	res := sdktest.Run(t, Plugin(), "pack", map[string]cty.Value{"from": cty.StringVal("step.dump.stream")},
		sdktest.WithInput("from", strings.NewReader("x")))
	if err := res.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), "no step reads") {
		t.Errorf("a pack without a consumer: want an error saying so, got %v", err)
	}
}
