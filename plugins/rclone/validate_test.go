package rclone

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

func TestValidate(t *testing.T) {
	remote := cty.GetAttrPath("remote")
	local := obj("type", "local")
	tests := map[string]struct {
		action  string
		args    map[string]cty.Value
		summary string
		path    cty.Path
		detail  string
	}{
		"no type":             {"list", args(obj("host", "h"), "path", "x"), "Missing remote type", remote, `"sftp"`},
		"unknown type":        {"list", args(obj("type", "s4"), "path", "x"), "Unsupported remote type", remote.GetAttr("type"), `Did you mean "s3"?`},
		"alias":               {"list", args(obj("type", "ssh", "host", "h"), "path", "x"), "Unsupported remote type", remote.GetAttr("type"), `Did you mean "sftp"?`},
		"not linked in":       {"list", args(obj("type", "drive"), "path", "x"), "Unsupported remote type", remote.GetAttr("type"), `"local", "sftp", "s3", "b2", "crypt"`},
		"typo in parameter":   {"list", args(obj("type", "s3", "acess_key_id", "a", "secret_access_key", "b"), "path", "x"), "Unknown parameter", remote.GetAttr("acess_key_id"), `Did you mean "access_key_id"?`},
		"sftp password":       {"list", args(obj("type", "sftp", "host", "h", "password", "p"), "path", "x"), "Unknown parameter", remote.GetAttr("password"), `"pass"`},
		"sftp without host":   {"list", args(obj("type", "sftp", "user", "u"), "path", "x"), "Missing parameter", remote, "host"},
		"b2 without key":      {"list", args(obj("type", "b2", "account", "a"), "path", "x"), "Missing parameter", remote, "needs key"},
		"half s3 credentials": {"list", args(obj("type", "s3", "access_key_id", "a"), "path", "x"), "Missing parameter", remote, "secret_access_key"},
		"crypt without password": {"list", args(cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("crypt"),
			"remote": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("local"), "path": cty.StringVal("/srv")})}), "path", "x"), "Missing parameter", remote, "password"},
		"crypt inner without path": {"list", args(cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("crypt"), "password": cty.StringVal("p"),
			"remote": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("local")})}), "path", "x"), "Missing path", remote.GetAttr("remote"), "folder"},
		"parameter not a string": {"list", args(cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("local"),
			"links": cty.ListValEmpty(cty.String)}), "path", "x"), "Invalid parameter value", remote.GetAttr("links"), "string"},
		"remote a number":     {"list", args(cty.NumberIntVal(3), "path", "x"), "Invalid remote", remote, "object"},
		"name with a path":    {"list", args(cty.StringVal("b2:bucket"), "path", "x"), "Invalid remote name", remote, "section"},
		"name without file":   {"list", args(cty.StringVal("backups"), "path", "x"), "Missing config file", cty.GetAttrPath("config_file"), "config_file"},
		"empty object path":   {"read", args(local, "path", ""), "Invalid object path", cty.GetAttrPath("path"), ""},
		"folder as object":    {"upload", args(local, "from", "pipe:1", "path", "/srv/backups/"), "Invalid object path", cty.GetAttrPath("path"), ""},
		"bad sha256":          {"hash", args(local, "path", "/x", "sha256", "abc"), "Invalid SHA-256", cty.GetAttrPath("sha256"), ""},
		"keeps nothing":       {"retention", args(local, "path", "/srv", "keep_last", 0), "Policy keeps nothing", nil, ""},
		"bad keep_within":     {"retention", args(local, "path", "/srv", "keep_within", "14 days"), "Invalid duration", cty.GetAttrPath("keep_within"), "14d"},
		"bad match":           {"retention", args(local, "path", "/srv", "keep_last", 1, "match", "db-("), "Invalid regular expression", cty.GetAttrPath("match"), ""},
		"negative count":      {"retention", args(local, "path", "/srv", "keep_daily", -1), "Invalid count", cty.GetAttrPath("keep_daily"), ""},
		"layout without time": {"retention", args(local, "path", "/srv", "keep_last", 1, "time_format", "YYYY-MM-DD"), "Invalid time format", cty.GetAttrPath("time_format"), "2006"},
		"write too large":     {"write", args(local, "path", "/x", "content", strings.Repeat("x", maxRead+1)), "Content too large", cty.GetAttrPath("content"), "rclone.upload"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := wantDiag(t, run(t, tc.action, tc.args), tc.summary, tc.path)
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", d.Detail, tc.detail)
			}
		})
	}
}

// TestValidateUnknown: a remote computed by an earlier step is not
// checked before it is known.
func TestValidateUnknown(t *testing.T) {
	v := sdktest.Args(t, Plugin(), "list", map[string]any{"remote": cty.UnknownVal(cty.DynamicPseudoType), "path": "x"})
	all, err := sdk.InProcess(Plugin()).ValidateActions(t.Context(), []*sdk.ValidateRequest{{Action: "list", Args: v}})
	if err != nil || len(all[0]) != 0 {
		t.Errorf("validate = %v, %v", all, err)
	}
}
