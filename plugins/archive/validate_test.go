package archive

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// Bad arguments are diagnostics at the argument (the element, in a
// list), before anything is read, and none quotes a secret.
func TestValidate(t *testing.T) {
	k := newKeys(t)
	tests := map[string]struct {
		action  string
		args    map[string]cty.Value
		path    cty.Path
		summary string
		secret  string
	}{
		"unknown compression": {action: "pack", args: map[string]cty.Value{"compression": cty.StringVal("xz")},
			path: cty.GetAttrPath("compression"), summary: "Unknown compression"},
		"bad level": {action: "pack", args: map[string]cty.Value{"level": cty.StringVal("23")},
			path: cty.GetAttrPath("level"), summary: "Invalid level"},
		"gzip level out of range": {action: "pack", args: map[string]cty.Value{"compression": cty.StringVal("gzip"), "level": cty.NumberIntVal(12)},
			path: cty.GetAttrPath("level"), summary: "Invalid level"},
		"level without compression": {action: "pack", args: map[string]cty.Value{"compression": cty.StringVal("none"), "level": cty.StringVal("best")},
			path: cty.GetAttrPath("level"), summary: "Invalid level"},
		"no concurrency": {action: "pack", args: map[string]cty.Value{"concurrency": cty.NumberIntVal(0)},
			path: cty.GetAttrPath("concurrency"), summary: "Invalid concurrency"},
		"a bad recipient": {action: "pack", args: map[string]cty.Value{"recipients": strs(k.public, "age1nope")},
			path: cty.GetAttrPath("recipients").IndexInt(1), summary: "Invalid age recipient"},
		"a secret key as recipient": {action: "pack", args: map[string]cty.Value{"recipients": strs(k.secret)},
			path: cty.GetAttrPath("recipients").IndexInt(0), summary: "Secret key in recipients", secret: k.secret},
		"recipients and passphrase": {action: "pack", args: map[string]cty.Value{"recipients": strs(k.public), "passphrase": cty.StringVal("s3cret s3cret")},
			path: cty.GetAttrPath("passphrase"), summary: "Conflicting arguments", secret: "s3cret"},
		"empty passphrase": {action: "pack", args: map[string]cty.Value{"passphrase": cty.StringVal("")},
			path: cty.GetAttrPath("passphrase"), summary: "Empty passphrase"},
		"unpack: identity and passphrase": {action: "unpack", args: map[string]cty.Value{"identity": cty.StringVal(k.secret), "passphrase": cty.StringVal("s3cret s3cret")},
			path: cty.GetAttrPath("passphrase"), summary: "Conflicting arguments", secret: k.secret},
		"unpack: a bad identity": {action: "unpack", args: map[string]cty.Value{"identity": cty.StringVal(k.secret[:40])},
			path: cty.GetAttrPath("identity"), summary: "Invalid identity", secret: k.secret[:40]},
		"unpack: no identity in it": {action: "unpack", args: map[string]cty.Value{"identity": cty.StringVal("# nothing\n\n")},
			path: cty.GetAttrPath("identity"), summary: "Invalid identity"},
		"unpack: bad sha256": {action: "unpack", args: map[string]cty.Value{"sha256": cty.StringVal("abc")},
			path: cty.GetAttrPath("sha256"), summary: "Invalid SHA-256"},
		"unpack: negative bytes": {action: "unpack", args: map[string]cty.Value{"bytes": cty.NumberIntVal(-1)},
			path: cty.GetAttrPath("bytes"), summary: "Invalid size"},
		"unpack: unknown compression": {action: "unpack", args: map[string]cty.Value{"compression": cty.StringVal("bz2")},
			path: cty.GetAttrPath("compression"), summary: "Unknown compression"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.args["from"] = cty.StringVal("step.x.stream")
			res := sdktest.Run(t, Plugin(), tc.action, tc.args, sdktest.OverGRPC())
			if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(tc.path) || res.Diagnostics[0].Summary != tc.summary {
				t.Fatalf("want one %q at %#v, got %v", tc.summary, tc.path, res.Diagnostics)
			}
			d := res.Diagnostics[0]
			if tc.secret != "" && strings.Contains(d.Summary+d.Detail, tc.secret) {
				t.Errorf("the diagnostic shows the secret: %s", d.Detail)
			}
		})
	}
}

// The plans say what would be done, and show no secret.
func TestPlans(t *testing.T) {
	k := newKeys(t)
	tests := map[string]struct {
		action string
		args   map[string]cty.Value
		want   string
	}{
		"pack zstd to keys": {action: "pack", args: map[string]cty.Value{"recipients": strs(k.public), "concurrency": cty.NumberIntVal(3)},
			want: "pack the stream: zstd (level default: klauspost's default, 3 workers, 512 KiB window), encrypted with age to 1 recipient(s)"},
		"pack gzip with a passphrase": {action: "pack", args: map[string]cty.Value{"compression": cty.StringVal("gzip"), "level": cty.NumberIntVal(9), "concurrency": cty.NumberIntVal(2), "passphrase": cty.StringVal("pw pw pw")},
			want: "pack the stream: gzip (level 9, 2 workers), encrypted with age and a passphrase"},
		"unpack checked": {action: "unpack", args: map[string]cty.Value{"identity": cty.StringVal(k.secret), "sha256": cty.StringVal(strings.Repeat("0a", 32)), "bytes": cty.NumberIntVal(5)},
			want: "unpack the stream: decrypt with 1 age identity(ies), decompress zstd, check sha256 0a0a0a0a0a0a… and 5 bytes"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.args["from"] = cty.StringVal("step.x.stream")
			resp := plan(t, tc.action, tc.args)
			if len(resp.Changes) != 1 || resp.Changes[0] != tc.want {
				t.Errorf("plan = %q, want %q", resp.Changes, tc.want)
			}
		})
	}
}
