package archive

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/zclconf/go-cty/cty"
)

// command runs name with args on stdin and returns its stdout.
func command(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, stderr.String())
	}
	return out
}

// What pack writes, the standard tools read: gzip -d, zstd -d, and the
// age command with the recipient's key file.
func TestPackReadByTools(t *testing.T) {
	data := mixedBytes(t, 10, 8<<20)
	k := newKeys(t)
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(keyFile, []byte(k.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args   map[string]cty.Value
		decode func(t *testing.T, packed []byte) []byte
	}{
		"gzip": {args: map[string]cty.Value{"compression": cty.StringVal("gzip")}, decode: func(t *testing.T, p []byte) []byte {
			return command(t, p, tool(t, "gzip", "apt-get install -y gzip"), "-d", "-c")
		}},
		"zstd": {args: map[string]cty.Value{}, decode: func(t *testing.T, p []byte) []byte {
			return command(t, p, tool(t, "zstd", "apt-get install -y zstd"), "-d", "-c")
		}},
		"zstd, 1 worker": {args: map[string]cty.Value{"concurrency": cty.NumberIntVal(1), "level": cty.StringVal("best")}, decode: func(t *testing.T, p []byte) []byte {
			return command(t, p, tool(t, "zstd", "apt-get install -y zstd"), "-d", "-c")
		}},
		"age|zstd": {args: map[string]cty.Value{"recipients": strs(k.public)}, decode: func(t *testing.T, p []byte) []byte {
			plain := command(t, p, tool(t, "age", "apt-get install -y age"), "-d", "-i", keyFile)
			return command(t, plain, tool(t, "zstd", "apt-get install -y zstd"), "-d", "-c")
		}},
		"age|gzip": {args: map[string]cty.Value{"compression": cty.StringVal("gzip"), "recipients": strs(newKeys(t).public, k.public)}, decode: func(t *testing.T, p []byte) []byte {
			plain := command(t, p, tool(t, "age", "apt-get install -y age"), "-d", "-i", keyFile)
			return command(t, plain, tool(t, "gzip", "apt-get install -y gzip"), "-d", "-c")
		}},
		"age passphrase, by the library": {args: map[string]cty.Value{"compression": cty.StringVal("none"), "passphrase": cty.StringVal("a long passphrase")}, decode: func(t *testing.T, p []byte) []byte {
			id, err := age.NewScryptIdentity("a long passphrase")
			if err != nil {
				t.Fatal(err)
			}
			r, err := age.Decrypt(bytes.NewReader(p), id)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := out.ReadFrom(r); err != nil {
				t.Fatal(err)
			}
			return out.Bytes()
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := runPackOn(t, bytes.NewReader(data), tc.args)
			if err := p.res.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			if got := tc.decode(t, p.data); !bytes.Equal(got, data) {
				t.Fatalf("decoded %d bytes, want the %d packed", len(got), len(data))
			}
		})
	}
}

// What the standard tools write, unpack reads: gzip -6, zstd -19 and
// --ultra -22, several concatenated zstd frames, and age -r (binary and
// armored).
func TestUnpackReadsTools(t *testing.T) {
	data := mixedBytes(t, 11, 4<<20)
	k := newKeys(t)
	tests := map[string]struct {
		encode func(t *testing.T) []byte
		args   map[string]cty.Value
	}{
		"gzip -6": {encode: func(t *testing.T) []byte {
			return command(t, data, tool(t, "gzip", "apt-get install -y gzip"), "-6", "-c")
		},
			args: map[string]cty.Value{"compression": cty.StringVal("gzip")}},
		"zstd -19": {encode: func(t *testing.T) []byte {
			return command(t, data, tool(t, "zstd", "apt-get install -y zstd"), "-19", "-T0", "-c")
		}},
		"zstd --ultra -22": {encode: func(t *testing.T) []byte {
			return command(t, data, tool(t, "zstd", "apt-get install -y zstd"), "--ultra", "-22", "-c")
		}},
		"two zstd frames": {encode: func(t *testing.T) []byte {
			z := tool(t, "zstd", "apt-get install -y zstd")
			return append(command(t, data[:3<<20], z, "-3", "-c"), command(t, data[3<<20:], z, "-3", "-c")...)
		}},
		"age -r | zstd": {encode: func(t *testing.T) []byte {
			z := command(t, data, tool(t, "zstd", "apt-get install -y zstd"), "-3", "-c")
			return command(t, z, tool(t, "age", "apt-get install -y age"), "-r", k.public)
		}, args: map[string]cty.Value{"identity": cty.StringVal(k.secret)}},
		"age -a -r | gzip": {encode: func(t *testing.T) []byte {
			z := command(t, data, tool(t, "gzip", "apt-get install -y gzip"), "-c")
			return command(t, z, tool(t, "age", "apt-get install -y age"), "-a", "-r", k.public)
		}, args: map[string]cty.Value{"identity": cty.StringVal(k.secret), "compression": cty.StringVal("gzip")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			input := tc.encode(t)
			args := map[string]cty.Value{"sha256": cty.StringVal(sha(input))}
			for k, v := range tc.args {
				args[k] = v
			}
			u := runUnpackOn(t, input, args)
			if err := u.res.Diagnostics.Err(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(u.data, data) {
				t.Fatalf("unpacked %d bytes, want %d", len(u.data), len(data))
			}
		})
	}
}
