package rclone

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	// The backends zrun supports, and no others (not backend/all): each
	// costs binary size and start-up in every zrun process.
	_ "github.com/rclone/rclone/backend/b2"
	_ "github.com/rclone/rclone/backend/crypt"
	_ "github.com/rclone/rclone/backend/local"
	_ "github.com/rclone/rclone/backend/s3"
	_ "github.com/rclone/rclone/backend/sftp"
	"github.com/rclone/rclone/fs"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/sdk"
)

// backendTypes are the remote types the plugin links in.
var backendTypes = []string{"local", "sftp", "s3", "b2", "crypt"}

// typeAliases are names people reach for that mean a supported type.
var typeAliases = map[string]string{
	"ssh": "sftp", "aws": "s3", "minio": "s3", "r2": "s3", "wasabi": "s3", "backblaze": "b2",
	"file": "local", "folder": "local", "dir": "local", "encrypted": "crypt",
}

// remoteArgs are every action's remote arguments.
type remoteArgs struct {
	Remote     cty.Value `zrun:"remote" help:"The remote: an object { type = \"local\"|\"sftp\"|\"s3\"|\"b2\"|\"crypt\", <rclone backend parameters as strings> } (e.g. s3: provider, endpoint, access_key_id, secret_access_key; b2: account, key; sftp: host, user, key_file, known_hosts_file; crypt: remote, password, the plain passphrase, and remote may itself be such an object, with path the folder inside it), built in memory and never written to disk; or the name of a section of config_file."`
	ConfigFile *string   `zrun:"config_file" help:"An rclone.conf on the machine zrun runs on, read and never modified: remote names one of its sections, and a crypt remote's remote may name another."`
}

// spec is a parsed remote argument: a declared remote (typ and params),
// or a section of config_file.
type spec struct {
	typ    string
	params map[string]string // rclone parameter names; plain values
	// wrapped is a crypt remote's remote declared as an object, and root
	// (of a wrapped remote) the folder inside it crypt encrypts into.
	wrapped *spec
	root    string
	section string
}

// validate checks the remote arguments of any action.
func (a *remoteArgs) validate(known sdk.Known) sdk.Diagnostics {
	if !known.Has("remote") || !known.Has("config_file") {
		return nil
	}
	s, diags := parseRemote(a.Remote, cty.GetAttrPath("remote"), false)
	if s != nil && s.section != "" && a.ConfigFile == nil {
		diags = diags.Errorf(cty.GetAttrPath("config_file"), "Missing config file",
			fmt.Sprintf("remote = %q names a section of an rclone.conf: set config_file to that file, or declare the remote as an object { type = \"s3\", ... }.", s.section))
	}
	if a.ConfigFile != nil && *a.ConfigFile == "" {
		diags = diags.Errorf(cty.GetAttrPath("config_file"), "Empty config file", "config_file is the path of an rclone.conf, e.g. \"/etc/zrun/rclone.conf\".")
	}
	return diags
}

// parseRemote parses a remote argument found at at. nested is true for a
// crypt remote's remote, which may carry path.
func parseRemote(v cty.Value, at cty.Path, nested bool) (*spec, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	if v.IsNull() {
		return nil, diags.Errorf(at, "Missing remote", `Set remote to an object such as { type = "s3", provider = "Minio", endpoint = "...", access_key_id = secret.s3_key, secret_access_key = secret.s3_secret }, or to the name of a section of config_file.`)
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		name := strings.TrimSuffix(v.AsString(), ":")
		if name == "" || strings.ContainsAny(name, ":/\\") {
			return nil, diags.Errorf(at, "Invalid remote name",
				"A remote given as a string is the name of a section of config_file, such as \"backups\" (no colon, no path: the object's path is the path argument).")
		}
		return &spec{section: name}, nil
	case ty.IsObjectType() || ty.IsMapType():
	default:
		return nil, diags.Errorf(at, "Invalid remote",
			fmt.Sprintf("remote is an object { type = ..., ... } or the name of a section of config_file, not a %s.", ty.FriendlyName()))
	}
	attrs := v.AsValueMap()
	s := &spec{params: map[string]string{}}
	tv, ok := attrs["type"]
	if !ok || tv.IsNull() || !tv.Type().Equals(cty.String) {
		return nil, diags.Errorf(at, "Missing remote type",
			fmt.Sprintf("A remote declares its type: add type = one of %s.", quoted(backendTypes)))
	}
	s.typ = tv.AsString()
	ri, err := findBackend(s.typ)
	if err != nil {
		return nil, diags.Errorf(at.GetAttr("type"), "Unsupported remote type", err.Error())
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		av, kat := attrs[k], at.GetAttr(k)
		switch {
		case k == "type" || av.IsNull():
			continue
		case nested && k == "path":
			p, ok := stringValue(av)
			if !ok {
				diags = diags.Errorf(kat, "Invalid path", "path is the folder inside this remote that crypt encrypts into, a string.")
			}
			s.root = p
			continue
		case s.typ == "crypt" && k == "remote" && (av.Type().IsObjectType() || av.Type().IsMapType()):
			w, wdiags := parseRemote(av, kat, true)
			diags = append(diags, wdiags...)
			if w != nil && w.typ == "crypt" {
				diags = diags.Errorf(kat.GetAttr("type"), "Crypt inside crypt", "A crypt remote wraps a storage remote (local, sftp, s3, b2), not another crypt.")
			}
			s.wrapped = w
			continue
		}
		if ri.Options.Get(k) == nil {
			diags = diags.Errorf(kat, "Unknown parameter", unknownParamDetail(s.typ, k, ri.Options))
			continue
		}
		str, ok := stringValue(av)
		if !ok {
			diags = diags.Errorf(kat, "Invalid parameter value",
				fmt.Sprintf("The %s parameter %s takes a string (or a number or bool, written as rclone's config would), not a %s.", s.typ, k, av.Type().FriendlyName()))
			continue
		}
		s.params[k] = str
	}
	if nested && s.root == "" {
		diags = diags.Errorf(at, "Missing path",
			`The remote a crypt remote wraps sets path, the folder inside it that crypt encrypts into (e.g. "bucket/encrypted", "/srv/backups").`)
	}
	diags = append(diags, s.checkRequired(ri, at)...)
	return s, diags
}

// checkRequired reports the backend's required parameters that s lacks.
func (s *spec) checkRequired(ri *fs.RegInfo, at cty.Path) sdk.Diagnostics {
	var diags sdk.Diagnostics
	for i := range ri.Options {
		o := &ri.Options[i]
		if !o.Required || (o.Default != nil && fmt.Sprint(o.Default) != "") {
			continue
		}
		if _, ok := s.params[o.Name]; ok || (o.Name == "remote" && s.wrapped != nil) {
			continue
		}
		diags = diags.Errorf(at, "Missing parameter",
			fmt.Sprintf("A %s remote needs %s: %s", s.typ, o.Name, firstLine(o.Help)))
	}
	if s.typ == "s3" {
		_, id := s.params["access_key_id"]
		_, key := s.params["secret_access_key"]
		if id != key {
			diags = diags.Errorf(at, "Missing parameter",
				"An s3 remote with credentials sets both access_key_id and secret_access_key (or neither, with env_auth = \"true\" or for public buckets).")
		}
	}
	return diags
}

// findBackend returns a supported backend's registration, or an error
// that says which types there are.
func findBackend(typ string) (*fs.RegInfo, error) {
	if !slices.Contains(backendTypes, typ) {
		hint := ""
		if alias, ok := typeAliases[strings.ToLower(typ)]; ok {
			hint = fmt.Sprintf(" Did you mean %q?", alias)
		} else if near := nearest(typ, backendTypes); near != "" {
			hint = fmt.Sprintf(" Did you mean %q?", near)
		}
		return nil, fmt.Errorf("zrun's rclone plugin supports the remote types %s, not %q.%s", quoted(backendTypes), typ, hint)
	}
	return fs.Find(typ)
}

func unknownParamDetail(typ, key string, opts fs.Options) string {
	names := make([]string, 0, len(opts))
	for _, o := range opts {
		names = append(names, o.Name)
	}
	detail := fmt.Sprintf("rclone's %s backend has no parameter %q.", typ, key)
	if near := nearest(key, names); near != "" {
		detail += fmt.Sprintf(" Did you mean %q?", near)
	}
	if typ == "sftp" && key == "password" {
		detail = `rclone's sftp backend calls the password "pass" (give it plain: zrun obscures it for rclone).`
	}
	return detail + " rclone's documentation lists each backend's parameters (rclone.org/<type>/)."
}

// nearest returns the candidate closest to s, when it is close enough to
// be a typo.
func nearest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(s, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// stringValue converts a known primitive value to the string rclone's
// config holds.
func stringValue(v cty.Value) (string, bool) {
	if !v.Type().IsPrimitiveType() {
		return "", false
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() {
		return "", false
	}
	return sv.AsString(), true
}

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
