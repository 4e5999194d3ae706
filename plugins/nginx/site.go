package nginx

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type siteArgs struct {
	Path       string    `zrun:"path" help:"Absolute path of the site's configuration file on the target, e.g. \"/etc/nginx/conf.d/zakupai.conf\" (a folder the main configuration includes)."`
	Upstreams  cty.Value `zrun:"upstreams,optional" help:"Upstream blocks: a list of { name, servers = [\"host:port\", ...], keepalive (optional), max_fails (optional), fail_timeout (optional) }."`
	RateLimits cty.Value `zrun:"rate_limits,optional" help:"Rate-limit zones (limit_req_zone): a list of { name, rate = \"60r/m\", key (default \"$binary_remote_addr\"), size (default \"10m\") }."`
	Servers    cty.Value `zrun:"servers,optional" help:"Server blocks: a list of { server_names, listen = [443] or [\"addr:port\"], tls = { certificate, key (PEM contents; a secret), certificate_path, key_path (optional: default beside path), protocols (default [\"TLSv1.2\", \"TLSv1.3\"]), ciphers }, http2, redirect_http (a port-80 server answering 301 to https), redirect_listen (default [80]), locations = [{ path, proxy_pass, proxy_headers (default Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto), rate_limit = { zone, burst, nodelay, status }, return, extra }], extra }."`
	Content    *string   `zrun:"content" help:"The whole file as raw configuration (e.g. templatefile(\"site.conf.tftpl\", {...})), instead of upstreams, rate_limits and servers."`
	connArgs
}

type siteOutputs struct{ fileOutputs }

func newSite() sdk.Action {
	return sdk.NewAction("site",
		"Render an nginx site (upstreams, rate-limit zones, TLS server blocks, HTTP-to-HTTPS redirect) or raw content to a file, "+
			"then test and reload nginx, proving the reload took. Unchanged files change nothing; on any failure the previous files come back.",
		runSite, sdk.WithValidate(validateSite), sdk.WithPlan(planSite))
}

func validateSite(_ context.Context, a siteArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.connArgs.validate(known)
	if known.Has("path") && !path.IsAbs(a.Path) {
		diags = diags.Errorf(cty.GetAttrPath("path"), "Relative path", fmt.Sprintf("path %q must be absolute on the target, e.g. \"/etc/nginx/conf.d/site.conf\".", a.Path))
	}
	if !known.Has("path") || !known.Has("content") || !known.Has("servers") || !known.Has("upstreams") || !known.Has("rate_limits") {
		return diags
	}
	_, d := a.files()
	return append(diags, d...)
}

// files decodes the arguments into the files the site is made of: the
// TLS certificates and keys first (nginx -t reads them), the
// configuration last.
func (a *siteArgs) files() ([]*file, sdk.Diagnostics) {
	d := &decoder{}
	structured := !a.Servers.IsNull() || !a.Upstreams.IsNull() || !a.RateLimits.IsNull()
	switch {
	case a.Content != nil && structured:
		d.errorf(cty.GetAttrPath("content"), "Conflicting arguments", "Set either content (the raw file) or upstreams, rate_limits and servers, not both.")
		return nil, d.diags
	case a.Content != nil:
		return []*file{{path: a.Path, content: []byte(*a.Content), mode: 0o644}}, nil
	case !structured:
		d.errorf(cty.GetAttrPath("servers"), "Missing site", "Set servers (with upstreams and rate_limits as needed), or content for a raw file.")
		return nil, d.diags
	}
	s := &site{}
	for i, v := range d.list(a.Upstreams, cty.GetAttrPath("upstreams"), "upstreams") {
		if u := d.upstream(v, index(cty.GetAttrPath("upstreams"), i)); u != nil {
			s.upstreams = append(s.upstreams, u)
		}
	}
	zones := map[string]bool{}
	for i, v := range d.list(a.RateLimits, cty.GetAttrPath("rate_limits"), "rate limits") {
		if rl := d.rateLimit(v, index(cty.GetAttrPath("rate_limits"), i)); rl != nil {
			s.rateLimits = append(s.rateLimits, rl)
			zones[rl.name] = true
		}
	}
	for i, v := range d.list(a.Servers, cty.GetAttrPath("servers"), "server blocks") {
		p := index(cty.GetAttrPath("servers"), i)
		sb := d.serverBlock(v, p)
		if sb == nil {
			continue
		}
		for j, l := range sb.locations {
			if l.rateLimit != nil && l.rateLimit.zone != "" && !zones[l.rateLimit.zone] {
				d.errorf(attr(attr(index(attr(p, "locations"), j), "rate_limit"), "zone"), "Unknown zone",
					"%q is not one of this site's rate_limits: declare it there, e.g. { name = %q, rate = \"60r/m\" }.", l.rateLimit.zone, l.rateLimit.zone)
			}
		}
		s.servers = append(s.servers, sb)
	}
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	files := a.tlsFiles(s)
	return append(files, &file{path: a.Path, content: []byte(s.render()), mode: 0o644}), d.diags
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// tlsFiles resolves each TLS block's certificate and key paths (beside
// the configuration by default: site.NAME.crt, site.NAME.key, NAME the
// first server name) and returns their files, one per path.
func (a *siteArgs) tlsFiles(s *site) []*file {
	dir, base := path.Split(a.Path)
	base = strings.TrimSuffix(base, path.Ext(base))
	byPath := map[string]*file{}
	var files []*file
	add := func(p, content string, secret bool) string {
		if f, ok := byPath[p]; ok {
			if string(f.content) == content {
				return p
			}
			ext := path.Ext(p)
			for n := 2; ; n++ {
				q := fmt.Sprintf("%s-%d%s", strings.TrimSuffix(p, ext), n, ext)
				if _, taken := byPath[q]; !taken {
					p = q
					break
				}
			}
		}
		f := &file{path: p, content: []byte(content), mode: 0o644, secret: secret}
		if secret {
			f.mode = 0o600
		}
		byPath[p] = f
		files = append(files, f)
		return p
	}
	for i, sb := range s.servers {
		t := sb.tls
		if t == nil || !t.upload {
			continue
		}
		name := fmt.Sprintf("server%d", i)
		if len(sb.names) > 0 && unsafeName.ReplaceAllString(sb.names[0], "_") != "_" {
			name = unsafeName.ReplaceAllString(sb.names[0], "_")
		}
		if t.certificatePath == "" {
			t.certificatePath = path.Join(dir, base+"."+name+".crt")
		}
		if t.keyPath == "" {
			t.keyPath = path.Join(dir, base+"."+name+".key")
		}
		t.certificatePath = add(t.certificatePath, t.certificate, false)
		t.keyPath = add(t.keyPath, t.key, true)
	}
	return files
}

func planSite(ctx context.Context, a siteArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if target == nil || !known.All() {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("render %s on %s, test and reload nginx if it changed (known at run time)", a.Path, hostName(target))}}, nil
	}
	files, diags := a.files()
	if diags.HasErrors() {
		return nil, argError(diags)
	}
	c, err := compare(ctx, target, files)
	if err != nil {
		return nil, err
	}
	return c.plan(a.Path, target.Name()), nil
}

func runSite(ctx context.Context, a siteArgs, ui sdk.UI) (siteOutputs, error) {
	out := siteOutputs{fileOutputs{Path: a.Path}}
	s, err := a.server(ui)
	if err != nil {
		return out, err
	}
	files, diags := a.files()
	if diags.HasErrors() {
		return out, argError(diags)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return out, err
	}
	defer unlock()
	conf := files[len(files)-1].content
	c, err := compare(ctx, s.t, files)
	if err != nil {
		return out, err
	}
	if !c.changed() {
		ui.Logf("%s on %s: no change", a.Path, s.t.Name())
		out.SHA256 = sha256Hex(conf)
		return out, nil
	}
	out.Diff = c.diff(s.t.Name())
	for _, line := range strings.Split(out.Diff, "\n") {
		ui.Logf("%s", line)
	}
	if err := s.apply(ctx, c); err != nil {
		return siteOutputs{fileOutputs{Path: a.Path}}, err
	}
	ui.Logf("nginx on %s tested and reloaded with %s", s.t.Name(), a.Path)
	out.Changed, out.SHA256 = true, sha256Hex(conf)
	return out, nil
}

// argError is the first error of diags as an ArgError, so that it keeps
// its argument path. (Run validates first: this is a fallback.)
func argError(diags sdk.Diagnostics) error {
	for _, d := range diags {
		if d.Severity == sdk.Error {
			return &sdk.ArgError{Path: d.Path, Summary: d.Summary, Detail: d.Detail}
		}
	}
	return nil
}

// hostName names the target in plans, which zrun may make without one.
func hostName(t sdk.Target) string {
	if t == nil {
		return "the target"
	}
	return t.Name()
}
