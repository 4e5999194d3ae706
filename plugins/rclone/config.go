package rclone

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/config"
	"github.com/rclone/rclone/fs/config/obscure"
	"github.com/unknwon/goconfig"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// rclone's config is process-wide: the remotes a step declares become
// sections of rclone's in-memory config storage (the default one: zrun
// never installs rclone's config file storage, so no rclone.conf is read
// or written behind its back). A section is named by a keyed hash of its
// content, so the same remote declared by two steps is one section (and
// one entry of rclone's Fs cache, which crypt uses for its wrapped
// remote), different ones never collide, and the name reveals nothing of
// the secrets it was made from.
var setup struct {
	once sync.Once
	salt []byte
	// mu makes putting a section into rclone's config one step: a
	// concurrent step must not see a section half written.
	mu sync.Mutex
}

// initRclone sets rclone up on first use rather than at start-up: every
// zrun process (and every builtin plugin's) links rclone in, and only
// this one needs it.
func initRclone() {
	setup.once.Do(func() {
		setup.salt = make([]byte, 32)
		_, _ = rand.Read(setup.salt)
		// The effective config: quieter than rclone's command line
		// (NOTICE lines would go to the plugin's stderr as noise).
		ci := fs.GetConfig(context.Background())
		ci.LogLevel = fs.LogLevelError
	})
}

// remote is a remote argument resolved into rclone's config.
type remote struct {
	name  string // the section in rclone's config
	label string // what messages call it
	// secrets are the values that must never reach a message, and names
	// the sections made for this remote, with what to call them.
	secrets []string
	names   map[string]string
}

// resolve turns a remote argument into a remote of rclone's config.
func (a *remoteArgs) resolve() (*remote, error) {
	initRclone()
	s, diags := parseRemote(a.Remote, cty.GetAttrPath("remote"), false)
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	r := &remote{names: map[string]string{}}
	var sections map[string]string // config_file's names, with their sections' names
	if a.ConfigFile != nil {
		var err error
		if sections, err = r.loadFile(*a.ConfigFile); err != nil {
			return nil, err
		}
	}
	if s.section != "" {
		name, ok := sections[s.section]
		if !ok {
			return nil, &sdk.ArgError{Path: cty.GetAttrPath("remote"), Summary: "Remote not in config file",
				Detail: sectionHint(s.section, *a.ConfigFile, sections)}
		}
		if typ, _ := config.LoadedData().GetValue(name, "type"); !slices.Contains(backendTypes, typ) {
			return nil, &sdk.ArgError{Path: cty.GetAttrPath("remote"), Summary: "Unsupported remote type",
				Detail: fmt.Sprintf("[%s] in %s is of type %q; zrun's rclone plugin supports %s.", s.section, *a.ConfigFile, typ, quoted(backendTypes))}
		}
		r.name, r.label = name, s.section
		return r, nil
	}
	name, err := r.declare(s, "remote", sections)
	r.name, r.label = name, "remote"
	return r, err
}

// declare puts a declared remote (and the remote a crypt one wraps) into
// rclone's config, returning its section's name.
func (r *remote) declare(s *spec, label string, fileSections map[string]string) (string, error) {
	ri, err := findBackend(s.typ)
	if err != nil {
		return "", err
	}
	params := map[string]string{}
	for k, v := range s.params {
		params[k] = v
	}
	if s.wrapped != nil {
		inner, err := r.declare(s.wrapped, label+".remote", fileSections)
		if err != nil {
			return "", err
		}
		params["remote"] = inner + ":" + s.wrapped.root
	} else if s.typ == "crypt" {
		params["remote"] = rewriteRemoteRef(params["remote"], fileSections)
	}
	name := "zrun-" + keyedHash(s.typ, params)[:16]
	r.names[name] = label
	for i := range ri.Options {
		o := &ri.Options[i]
		v, ok := params[o.Name]
		if !ok {
			continue
		}
		if o.IsPassword || o.Sensitive || looksSecret(o.Name) {
			r.secrets = append(r.secrets, v)
		}
		if o.IsPassword {
			// Declared plain; rclone's config holds it obscured.
			params[o.Name] = obscure.MustObscure(v)
			r.secrets = append(r.secrets, params[o.Name])
		}
	}
	setup.mu.Lock()
	defer setup.mu.Unlock()
	data := config.LoadedData()
	if !data.HasSection(name) {
		for k, v := range params {
			data.SetValue(name, k, v)
		}
		data.SetValue(name, "type", s.typ)
	}
	return name, nil
}

// loadFile puts every section of an rclone.conf into rclone's config,
// under names of their own (a crypt section's remote that names another
// section of the file is rewritten to match), and returns the file's
// names with theirs.
func (r *remote) loadFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &sdk.ArgError{Path: cty.GetAttrPath("config_file"), Summary: "Cannot read config file",
			Detail: fmt.Sprintf("%v. config_file is an rclone.conf on the machine zrun runs on.", err)}
	}
	if bytes.Contains(b, []byte("RCLONE_ENCRYPT_V")) {
		return nil, &sdk.ArgError{Path: cty.GetAttrPath("config_file"), Summary: "Encrypted config file",
			Detail: fmt.Sprintf("%s is an encrypted rclone.conf, which zrun cannot read: declare the remote in HCL with its secrets from secret., or decrypt the file.", path)}
	}
	gc, err := goconfig.LoadFromData(b)
	if err != nil {
		return nil, &sdk.ArgError{Path: cty.GetAttrPath("config_file"), Summary: "Invalid config file",
			Detail: fmt.Sprintf("%s is not an rclone.conf (INI sections [name] of key = value lines).", path)}
	}
	ns := keyedHash("file", map[string]string{"": string(b)})[:8]
	sections := map[string]string{}
	for _, sec := range gc.GetSectionList() {
		if sec != goconfig.DEFAULT_SECTION {
			sections[sec] = "zrun-" + ns + "-" + sec
		}
	}
	setup.mu.Lock()
	defer setup.mu.Unlock()
	data := config.LoadedData()
	for sec, name := range sections {
		r.names[name] = sec
		kv, _ := gc.GetSection(sec)
		ri, _ := fs.Find(kv["type"])
		fresh := !data.HasSection(name) // else the same content, put there before
		for k, v := range kv {
			if k == "remote" && kv["type"] == "crypt" {
				v = rewriteRemoteRef(v, sections)
			}
			if ri != nil {
				if o := ri.Options.Get(k); o != nil && (o.IsPassword || o.Sensitive || looksSecret(k)) {
					r.secrets = append(r.secrets, v)
					if plain, err := obscure.Reveal(v); err == nil && o.IsPassword {
						r.secrets = append(r.secrets, plain)
					}
				}
			}
			if fresh {
				data.SetValue(name, k, v)
			}
		}
	}
	return sections, nil
}

// rewriteRemoteRef points a crypt's remote ("name:path") at the section
// config_file's section name became.
func rewriteRemoteRef(ref string, sections map[string]string) string {
	name, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return ref
	}
	if mapped, ok := sections[name]; ok {
		return mapped + ":" + rest
	}
	return ref
}

func sectionHint(name, file string, sections map[string]string) string {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	detail := fmt.Sprintf("%s has no section [%s]; it has %s.", file, name, quoted(names))
	if len(names) == 0 {
		detail = fmt.Sprintf("%s has no sections.", file)
	}
	if near := nearest(name, names); near != "" {
		detail += fmt.Sprintf(" Did you mean %q?", near)
	}
	return detail
}

// keyedHash names a config by its content, keyed by a per-process
// secret so that the name tells nothing about the values.
func keyedHash(typ string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := hmac.New(sha256.New, setup.salt)
	fmt.Fprintf(h, "%q\n", typ)
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q\n", k, params[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// looksSecret catches parameters that hold credentials whatever rclone
// says of them.
func looksSecret(name string) bool {
	for _, w := range []string{"secret", "pass", "key", "token", "session"} {
		if strings.Contains(name, w) && name != "key_file" && name != "pubkey_file" && name != "known_hosts_file" {
			return true
		}
	}
	return false
}

// fs returns an Fs rooted at dir (a folder path inside the remote; "" for
// its root).
func (r *remote) fs(ctx context.Context, dir string) (fs.Fs, error) {
	f, err := fs.NewFs(ctx, r.name+":"+dir)
	if err != nil && !errors.Is(err, fs.ErrorIsFile) {
		return nil, r.wrap(err)
	}
	if errors.Is(err, fs.ErrorIsFile) {
		return nil, fmt.Errorf("%s is a file on %s, not a folder", dir, r.label)
	}
	return f, nil
}

// wrap makes err safe to show: no secret of the remote in its message,
// and the remote called by the name the workflow gave it. errors.Is and
// errors.As still see the original.
func (r *remote) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbed{msg: r.scrub(err.Error()), err: err}
}

// scrub removes the remote's secrets and generated names from s.
func (r *remote) scrub(s string) string {
	for _, secret := range r.secrets {
		if len(secret) >= 4 && secret != "true" && secret != "false" {
			s = strings.ReplaceAll(s, secret, "(secret)")
		}
	}
	names := make([]string, 0, len(r.names))
	for name := range r.names {
		names = append(names, name)
	}
	// Longest first: one generated name may begin another.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, name := range names {
		s = strings.ReplaceAll(s, name, r.names[name])
	}
	return s
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
