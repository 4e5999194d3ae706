package archive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// corruptionData is larger than unpack's holdback, so that a consumer
// of a failed unpack is seen to miss the end.
func corruptionData(t *testing.T) []byte { return mixedBytes(t, 3, 6<<20) }

// A flipped byte or a cut anywhere in a packed stream fails the unpack,
// for every compression, encrypted or not, and its consumer never gets
// the whole input. What compression "none" without encryption cannot
// see by itself, the manifest's sha256 and size catch.
func TestUnpackRefusesDamage(t *testing.T) {
	data := corruptionData(t)
	k := newKeys(t)
	damages := map[string]func([]byte) []byte{
		"flipped in the middle": func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0x10; return c },
		"flipped near the end":  func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-3] ^= 0x01; return c },
		"flipped in the header": func(b []byte) []byte { c := bytes.Clone(b); c[5] ^= 0x40; return c },
		"cut in half":           func(b []byte) []byte { return b[:len(b)/2] },
		"last byte cut":         func(b []byte) []byte { return b[:len(b)-1] },
		"a byte added":          func(b []byte) []byte { return append(bytes.Clone(b), 0) },
		"emptied":               func([]byte) []byte { return nil },
	}
	for _, comp := range []string{"zstd", "gzip", "none"} {
		for _, encrypted := range []bool{false, true} {
			packArgs := map[string]cty.Value{"compression": cty.StringVal(comp)}
			unpackArgs := map[string]cty.Value{"compression": cty.StringVal(comp)}
			name := comp + "/plain"
			if encrypted {
				name = comp + "/age"
				packArgs["recipients"] = strs(k.public)
				unpackArgs["identity"] = cty.StringVal(k.secret)
			}
			p := runPackOn(t, bytes.NewReader(data), packArgs)
			if err := p.res.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			for what, damage := range damages {
				t.Run(name+"/"+what, func(t *testing.T) {
					checked := map[string]cty.Value{"sha256": p.out("sha256"), "bytes": p.out("bytes")}
					for k, v := range unpackArgs {
						checked[k] = v
					}
					unpackFails(t, data, damage(p.data), checked)
					// The formats' own checks: gzip's do not cover its
					// header's time stamp (bytes 4-7).
					if comp != "none" && !(comp == "gzip" && !encrypted && what == "flipped in the header") {
						unpackFails(t, data, damage(p.data), unpackArgs)
					}
				})
			}
		}
	}
}

// unpackFails checks that unpacking input fails, and that its consumer
// gets less than all but the last holdbackSize bytes of data.
func unpackFails(t *testing.T, data, input []byte, args map[string]cty.Value) {
	t.Helper()
	u := runUnpackOn(t, input, args)
	err := u.res.Diagnostics.Err()
	if err == nil {
		t.Fatalf("unpack of a damaged archive succeeded (checks %v): %d bytes out", args["sha256"] != cty.NilVal, len(u.data))
	}
	if bytes.Equal(u.data, data) || len(u.data) > len(data)-holdbackSize {
		t.Errorf("its consumer got %d of the %d bytes: more than all but the last %d", len(u.data), len(data), holdbackSize)
	}
	t.Logf("%v", err)
}

// Without the manifest's values, a damaged plain, uncompressed stream
// cannot be told from a good one: that is why the workflow passes them.
func TestUnpackNoneWithoutChecksIsBlind(t *testing.T) {
	data := []byte("plain bytes")
	u := runUnpackOn(t, data[:5], map[string]cty.Value{"compression": cty.StringVal("none")})
	if err := u.res.Diagnostics.Err(); err != nil || string(u.data) != "plain" {
		t.Errorf("got %q, %v", u.data, err)
	}
}

// A sha256 or a size that differ from the input's fail the unpack after
// it read everything, and its consumer misses the end.
func TestUnpackChecksTheManifest(t *testing.T) {
	data := corruptionData(t)
	p := runPackOn(t, bytes.NewReader(data), nil)
	if err := p.res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	n, _ := p.out("bytes").AsBigFloat().Int64()
	other := strings.Repeat("ab", 32)
	tests := map[string]struct {
		args    map[string]cty.Value
		wantErr string
	}{
		"right":                  {args: map[string]cty.Value{"sha256": p.out("sha256"), "bytes": p.out("bytes")}},
		"right, prefixed":        {args: map[string]cty.Value{"sha256": cty.StringVal("sha256:" + strings.ToUpper(p.out("sha256").AsString()))}},
		"another sha256":         {args: map[string]cty.Value{"sha256": cty.StringVal(other)}, wantErr: "not the " + other + " expected"},
		"one byte more":          {args: map[string]cty.Value{"bytes": cty.NumberIntVal(n + 1)}, wantErr: "not the"},
		"one byte less":          {args: map[string]cty.Value{"bytes": cty.NumberIntVal(n - 1)}, wantErr: "longer than"},
		"much less, fails early": {args: map[string]cty.Value{"bytes": cty.NumberIntVal(1000)}, wantErr: "longer than the 1000 bytes expected"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u := runUnpackOn(t, p.data, tc.args)
			err := u.res.Diagnostics.Err()
			if tc.wantErr == "" {
				if err != nil || !bytes.Equal(u.data, data) {
					t.Fatalf("got %d bytes: %v", len(u.data), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
			}
			if len(u.data) > len(data)-holdbackSize {
				t.Errorf("its consumer got %d of the %d bytes", len(u.data), len(data))
			}
		})
	}
}

// A wrong key or passphrase fails without saying what it was, nor do
// the diagnostics of a malformed one; the logs never hold them either.
func TestUnpackWrongSecrets(t *testing.T) {
	data := mixedBytes(t, 4, 100<<10)
	right, wrong := newKeys(t), newKeys(t)
	toKey := runPackOn(t, bytes.NewReader(data), map[string]cty.Value{"recipients": strs(right.public)})
	withPass := runPackOn(t, bytes.NewReader(data), map[string]cty.Value{"passphrase": cty.StringVal("the right one")})
	plain := runPackOn(t, bytes.NewReader(data), nil)
	malformed := "AGE-SECRET-KEY-1" + strings.Repeat("Q", 58)
	tests := map[string]struct {
		input   []byte
		args    map[string]cty.Value
		secret  string
		wantErr string
	}{
		"another key":               {input: toKey.data, args: map[string]cty.Value{"identity": cty.StringVal(wrong.secret)}, secret: wrong.secret, wantErr: "none of the 1 identities"},
		"a passphrase for a key":    {input: toKey.data, args: map[string]cty.Value{"passphrase": cty.StringVal("hunter2 hunter2")}, secret: "hunter2", wantErr: "not with a passphrase"},
		"the wrong passphrase":      {input: withPass.data, args: map[string]cty.Value{"passphrase": cty.StringVal("hunter2 hunter2")}, secret: "hunter2", wantErr: "passphrase is wrong"},
		"a key for a passphrase":    {input: withPass.data, args: map[string]cty.Value{"identity": cty.StringVal(wrong.secret)}, secret: wrong.secret, wantErr: "none of the 1 identities"},
		"a key for a plain archive": {input: plain.data, args: map[string]cty.Value{"identity": cty.StringVal(wrong.secret)}, secret: wrong.secret, wantErr: "not encrypted with age"},
		"no key for an encrypted":   {input: toKey.data, args: map[string]cty.Value{}, wantErr: `give unpack the "identity"`},
		"a malformed key":           {input: toKey.data, args: map[string]cty.Value{"identity": cty.StringVal("# mine\n" + malformed)}, secret: malformed[16:], wantErr: "Line 2 of the identity"},
		"a public key as identity":  {input: toKey.data, args: map[string]cty.Value{"identity": cty.StringVal(right.public)}, secret: right.public, wantErr: "Line 1 of the identity"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u := runUnpackOn(t, tc.input, tc.args)
			err := u.res.Diagnostics.Err()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
			}
			if len(u.data) != 0 {
				t.Errorf("its consumer got %d bytes", len(u.data))
			}
			shown := err.Error() + strings.Join(u.res.Logs, "\n") + u.res.Stdout + u.res.Stderr
			if tc.secret != "" && strings.Contains(shown, tc.secret) {
				t.Errorf("the secret is shown: %s", shown)
			}
		})
	}
}

// A stream compressed otherwise than said is named for what it is.
func TestUnpackNamesTheCompression(t *testing.T) {
	data := mixedBytes(t, 5, 100<<10)
	gz := runPackOn(t, bytes.NewReader(data), map[string]cty.Value{"compression": cty.StringVal("gzip")})
	u := runUnpackOn(t, gz.data, nil)
	if err := u.res.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), `set compression = "gzip"`) {
		t.Errorf("err = %v", err)
	}
	u = runUnpackOn(t, data, map[string]cty.Value{"compression": cty.StringVal("gzip")})
	if err := u.res.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), "not gzip-compressed") {
		t.Errorf("err = %v", err)
	}
}

// Without a consumer, unpack checks its input and outputs its hashes.
func TestUnpackWithoutConsumerChecks(t *testing.T) {
	data := mixedBytes(t, 6, 3<<20)
	p := runPackOn(t, bytes.NewReader(data), nil)
	for name, input := range map[string][]byte{"good": p.data, "damaged": append(bytes.Clone(p.data[:len(p.data)-10]), make([]byte, 10)...)} {
		t.Run(name, func(t *testing.T) {
			res := runWithoutOutput(t, "unpack", input, map[string]cty.Value{"from": cty.StringVal("step.download.stream")})
			err := res.Diagnostics.Err()
			if name == "damaged" {
				if err == nil {
					t.Fatal("a damaged archive checked good")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outputs.GetAttr("raw_sha256").AsString(); got != sha(data) {
				t.Errorf("raw_sha256 = %s, want %s", got, sha(data))
			}
		})
	}
}
