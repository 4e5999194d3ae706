package nginx

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/sdk"
)

// decoder turns the site's nested HCL values (upstreams, rate_limits,
// servers: dynamic values, so that their attributes can be optional) into
// the site model, collecting a diagnostic on the path of each bad value.
type decoder struct {
	diags sdk.Diagnostics
}

func (d *decoder) errorf(p cty.Path, summary, format string, args ...any) {
	d.diags = d.diags.Errorf(p, summary, fmt.Sprintf(format, args...))
}

func index(p cty.Path, i int) cty.Path {
	return append(slices.Clip(p), cty.IndexStep{Key: cty.NumberIntVal(int64(i))})
}

func attr(p cty.Path, name string) cty.Path {
	return append(slices.Clip(p), cty.GetAttrStep{Name: name})
}

// list returns the elements of a list, tuple or set; nil for null.
func (d *decoder) list(v cty.Value, p cty.Path, what string) []cty.Value {
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	if !ty.IsListType() && !ty.IsTupleType() && !ty.IsSetType() {
		d.errorf(p, "Not a list", "This must be a list of %s, e.g. [ ... ], not a %s.", what, ty.FriendlyName())
		return nil
	}
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e)
	}
	return out
}

// object checks that v is an object with only the named attributes and
// returns a getter of them (null for a missing one).
func (d *decoder) object(v cty.Value, p cty.Path, what string, names ...string) (func(string) cty.Value, bool) {
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		d.errorf(p, "Not an object", "Each element must be %s: an object { ... }.", what)
		return nil, false
	}
	m := v.AsValueMap()
	for k := range m {
		if !slices.Contains(names, k) {
			d.errorf(attr(p, k), "Unsupported attribute", "%s has no attribute %q; it takes %s.", what, k, strings.Join(names, ", "))
		}
	}
	return func(name string) cty.Value {
		if e, ok := m[name]; ok {
			return e
		}
		return cty.NullVal(cty.DynamicPseudoType)
	}, true
}

// str returns a string attribute (numbers and bools converted), "" for
// null. Values that would break out of an nginx token are refused.
func (d *decoder) str(v cty.Value, p cty.Path, required bool) string {
	if v.IsNull() {
		if required {
			d.errorf(p, "Missing value", "This attribute is required.")
		}
		return ""
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		d.errorf(p, "Not a string", "This must be a string, not a %s.", v.Type().FriendlyName())
		return ""
	}
	s := sv.AsString()
	if required && strings.TrimSpace(s) == "" {
		d.errorf(p, "Empty value", "This attribute must not be empty.")
	}
	d.checkValue(s, p)
	return s
}

// checkValue refuses what would end a directive or open a block.
func (d *decoder) checkValue(s string, p cty.Path) {
	if i := strings.IndexFunc(s, func(r rune) bool { return r == ';' || r == '{' || r == '}' || r < ' ' || r == 0x7f }); i >= 0 {
		d.errorf(p, "Invalid character", "%q contains %q, which would end the nginx directive or open a block (a way to inject configuration). Remove it: each value is one nginx token, each extra entry one simple directive; for anything else, write the file with content.", s, s[i:i+1])
	}
}

func (d *decoder) strs(v cty.Value, p cty.Path, what string) []string {
	var out []string
	for i, e := range d.list(v, p, what) {
		out = append(out, d.str(e, index(p, i), true))
	}
	return out
}

func (d *decoder) boolean(v cty.Value, p cty.Path) bool {
	if v.IsNull() {
		return false
	}
	bv, err := convert.Convert(v, cty.Bool)
	if err != nil {
		d.errorf(p, "Not a bool", "This must be true or false.")
		return false
	}
	return bv.True()
}

// integer returns a whole number in [lo, hi]; nil for null.
func (d *decoder) integer(v cty.Value, p cty.Path, lo, hi int64) *int {
	if v.IsNull() {
		return nil
	}
	nv, err := convert.Convert(v, cty.Number)
	if err == nil {
		if n, acc := nv.AsBigFloat().Int64(); acc == big.Exact && n >= lo && n <= hi {
			i := int(n)
			return &i
		}
	}
	d.errorf(p, "Invalid number", "This must be a whole number from %d to %d.", lo, hi)
	return nil
}

// match checks s against re, unless s was already refused at p.
func (d *decoder) match(re *regexp.Regexp, s string, p cty.Path, summary, detail string) {
	for _, diag := range d.diags {
		if diag.Path.Equals(p) {
			return
		}
	}
	if s != "" && !re.MatchString(s) {
		d.errorf(p, summary, "%q: %s", s, detail)
	}
}

var (
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	serverRe   = regexp.MustCompile(`^(unix:/\S+|\[[0-9A-Fa-f:.]+\]:\d{1,5}|[A-Za-z0-9_.-]+:\d{1,5})$`)
	listenRe   = regexp.MustCompile(`^(\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5}|[A-Za-z0-9_.*-]+:\d{1,5}|unix:/\S+)$`)
	rateRe     = regexp.MustCompile(`^\d+r/[sm]$`)
	sizeRe     = regexp.MustCompile(`^\d+[kKmM]?$`)
	headerRe   = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	statusRe   = regexp.MustCompile(`^\d{3}$`)
	durationRe = regexp.MustCompile(`^\d+(ms|s|m|h|d)?$`)
	protocols  = []string{"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
)

func (d *decoder) upstream(v cty.Value, p cty.Path) *upstream {
	get, ok := d.object(v, p, "an upstream", "name", "servers", "keepalive", "max_fails", "fail_timeout")
	if !ok {
		return nil
	}
	u := &upstream{name: d.str(get("name"), attr(p, "name"), true)}
	d.match(nameRe, u.name, attr(p, "name"), "Invalid upstream name", "an upstream name is letters, digits, _, . and -, e.g. \"app\".")
	u.servers = d.servers(get("servers"), attr(p, "servers"))
	if k := d.integer(get("keepalive"), attr(p, "keepalive"), 0, 10000); k != nil {
		u.keepalive = *k
	}
	u.maxFails = d.integer(get("max_fails"), attr(p, "max_fails"), 0, 1000)
	u.failTimeout = d.str(get("fail_timeout"), attr(p, "fail_timeout"), false)
	d.match(durationRe, u.failTimeout, attr(p, "fail_timeout"), "Invalid duration", "write an nginx time such as \"10s\".")
	return u
}

// servers decodes an upstream's "host:port" list.
func (d *decoder) servers(v cty.Value, p cty.Path) []string {
	if v.IsNull() {
		d.errorf(p, "Missing servers", "An upstream needs at least one server, e.g. [\"127.0.0.1:8080\"].")
		return nil
	}
	out := d.strs(v, p, "\"host:port\" strings")
	if len(out) == 0 && len(d.diags) == 0 {
		d.errorf(p, "No servers", "An upstream needs at least one server, e.g. [\"127.0.0.1:8080\"].")
	}
	for i, s := range out {
		d.match(serverRe, s, index(p, i), "Invalid server", "an upstream server is \"host:port\", \"[v6]:port\" or \"unix:/path\".")
	}
	return out
}

func (d *decoder) rateLimit(v cty.Value, p cty.Path) *rateLimit {
	get, ok := d.object(v, p, "a rate limit", "name", "key", "rate", "size")
	if !ok {
		return nil
	}
	rl := &rateLimit{
		name: d.str(get("name"), attr(p, "name"), true),
		key:  d.str(get("key"), attr(p, "key"), false),
		rate: d.str(get("rate"), attr(p, "rate"), true),
		size: d.str(get("size"), attr(p, "size"), false),
	}
	if rl.key == "" {
		rl.key = "$binary_remote_addr"
	}
	if rl.size == "" {
		rl.size = "10m"
	}
	d.match(nameRe, rl.name, attr(p, "name"), "Invalid zone name", "a zone name is letters, digits, _, . and -, e.g. \"api\".")
	d.match(rateRe, rl.rate, attr(p, "rate"), "Invalid rate", "a rate is requests per second or minute, e.g. \"60r/m\" or \"5r/s\".")
	d.match(sizeRe, rl.size, attr(p, "size"), "Invalid size", "a zone size is a number with k or m, e.g. \"10m\".")
	return rl
}

func (d *decoder) serverBlock(v cty.Value, p cty.Path) *serverBlock {
	get, ok := d.object(v, p, "a server block", "server_names", "listen", "tls", "http2", "redirect_http", "redirect_listen", "locations", "extra")
	if !ok {
		return nil
	}
	sb := &serverBlock{
		names:        d.strs(get("server_names"), attr(p, "server_names"), "server names"),
		listen:       d.strs(get("listen"), attr(p, "listen"), "ports or \"addr:port\" strings"),
		http2:        d.boolean(get("http2"), attr(p, "http2")),
		redirectHTTP: d.boolean(get("redirect_http"), attr(p, "redirect_http")),
		extra:        d.extra(get("extra"), attr(p, "extra")),
	}
	if len(sb.listen) == 0 {
		d.errorf(attr(p, "listen"), "Missing listen", "A server block listens on at least one port, e.g. listen = [443].")
	}
	for i, l := range sb.listen {
		d.match(listenRe, l, index(attr(p, "listen"), i), "Invalid listen", "listen is a port (443) or \"addr:port\" (\"127.0.0.1:8443\", \"[::]:443\").")
	}
	if get("tls").IsNull() {
		if sb.redirectHTTP {
			d.errorf(attr(p, "redirect_http"), "Redirect without TLS", "redirect_http sends HTTP requests to this server's HTTPS port: give the server a tls block, or remove redirect_http.")
		}
	} else {
		sb.tls = d.tls(get("tls"), attr(p, "tls"))
	}
	sb.redirectListen = d.strs(get("redirect_listen"), attr(p, "redirect_listen"), "ports or \"addr:port\" strings")
	for i, l := range sb.redirectListen {
		d.match(listenRe, l, index(attr(p, "redirect_listen"), i), "Invalid listen", "redirect_listen is a port (80) or \"addr:port\".")
	}
	if sb.redirectListen == nil {
		sb.redirectListen = []string{"80"}
	}
	for i, lv := range d.list(get("locations"), attr(p, "locations"), "locations") {
		if l := d.location(lv, index(attr(p, "locations"), i)); l != nil {
			sb.locations = append(sb.locations, l)
		}
	}
	return sb
}

func (d *decoder) tls(v cty.Value, p cty.Path) *tlsConf {
	get, ok := d.object(v, p, "a tls block", "certificate", "key", "certificate_path", "key_path", "protocols", "ciphers")
	if !ok {
		return nil
	}
	t := &tlsConf{
		certificatePath: d.str(get("certificate_path"), attr(p, "certificate_path"), false),
		keyPath:         d.str(get("key_path"), attr(p, "key_path"), false),
		protocols:       d.strs(get("protocols"), attr(p, "protocols"), "protocol names"),
		ciphers:         d.str(get("ciphers"), attr(p, "ciphers"), false),
	}
	if t.protocols == nil {
		t.protocols = []string{"TLSv1.2", "TLSv1.3"}
	}
	for i, proto := range t.protocols {
		if !slices.Contains(protocols, proto) {
			d.errorf(index(attr(p, "protocols"), i), "Unknown protocol", "%q is not an nginx ssl_protocols value; use %s.", proto, strings.Join(protocols, ", "))
		}
	}
	for _, f := range []struct{ name, path string }{{"certificate_path", t.certificatePath}, {"key_path", t.keyPath}} {
		if f.path != "" && !strings.HasPrefix(f.path, "/") {
			d.errorf(attr(p, f.name), "Relative path", "%s must be an absolute path on the target, e.g. \"/etc/ssl/private/site.key\".", f.name)
		}
	}
	if get("certificate").IsNull() && get("key").IsNull() && t.certificatePath != "" && t.keyPath != "" {
		return t // files the target has already (certbot's, say): referenced, not uploaded
	}
	t.upload = true
	t.certificate = d.pem(get("certificate"), attr(p, "certificate"), "certificate", "CERTIFICATE")
	t.key = d.pem(get("key"), attr(p, "key"), "key", "PRIVATE KEY")
	return t
}

// pem decodes certificate or key contents: PEM text, never shown (a key
// is a secret, and diagnostics quote nothing of either).
func (d *decoder) pem(v cty.Value, p cty.Path, name, kind string) string {
	if v.IsNull() {
		d.errorf(p, "Missing "+name, "A tls block needs its %s's PEM contents (e.g. %s = secret.tls_%s), or, for files the target has already, certificate_path and key_path with neither certificate nor key.", name, name, name)
		return ""
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		d.errorf(p, "Not a string", "The %s is its PEM contents as a string.", name)
		return ""
	}
	s := sv.AsString()
	if !strings.Contains(s, "-----BEGIN ") || !strings.Contains(s, kind+"-----") {
		d.errorf(p, "Not PEM", "The %s must be PEM text (-----BEGIN ...%s-----), not a path: read a file with file(\"...\").", name, kind)
	}
	return s
}

func (d *decoder) location(v cty.Value, p cty.Path) *location {
	get, ok := d.object(v, p, "a location", "path", "proxy_pass", "proxy_headers", "rate_limit", "return", "extra")
	if !ok {
		return nil
	}
	l := &location{
		path:      d.str(get("path"), attr(p, "path"), true),
		proxyPass: d.str(get("proxy_pass"), attr(p, "proxy_pass"), false),
		ret:       d.str(get("return"), attr(p, "return"), false),
		extra:     d.extra(get("extra"), attr(p, "extra")),
	}
	if l.proxyPass != "" && !strings.HasPrefix(l.proxyPass, "http://") && !strings.HasPrefix(l.proxyPass, "https://") {
		d.errorf(attr(p, "proxy_pass"), "Invalid proxy_pass", "%q must start with http:// or https://, e.g. \"http://app\" for the upstream app.", l.proxyPass)
	}
	if l.ret != "" {
		code, _, _ := strings.Cut(l.ret, " ")
		d.match(statusRe, code, attr(p, "return"), "Invalid return", "return is a status code, then a URL or text: \"301 https://$host$request_uri\" or \"200 ok\".")
	}
	if hv := get("proxy_headers"); !hv.IsNull() {
		hp := attr(p, "proxy_headers")
		if !hv.Type().IsObjectType() && !hv.Type().IsMapType() {
			d.errorf(hp, "Not an object", "proxy_headers is an object of header names and values, e.g. { Host = \"$host\" }.")
		} else {
			l.proxyHeaders = map[string]string{}
			for name, hv := range hv.AsValueMap() {
				d.match(headerRe, name, attr(hp, name), "Invalid header name", "a header name is letters, digits and -.")
				l.proxyHeaders[name] = d.str(hv, attr(hp, name), false)
			}
		}
	}
	if rv := get("rate_limit"); !rv.IsNull() {
		rp := attr(p, "rate_limit")
		if rget, ok := d.object(rv, rp, "a rate_limit", "zone", "burst", "nodelay", "status"); ok {
			r := &limitReq{zone: d.str(rget("zone"), attr(rp, "zone"), true), nodelay: d.boolean(rget("nodelay"), attr(rp, "nodelay"))}
			if b := d.integer(rget("burst"), attr(rp, "burst"), 0, 1<<20); b != nil {
				r.burst = *b
			}
			if s := d.integer(rget("status"), attr(rp, "status"), 400, 599); s != nil {
				r.status = *s
			}
			l.rateLimit = r
		}
	}
	return l
}

// extra decodes raw directives: each one simple directive without its
// final ";".
func (d *decoder) extra(v cty.Value, p cty.Path) []string {
	out := d.strs(v, p, "directives")
	for i, e := range out {
		if strings.TrimSpace(e) == "" {
			d.errorf(index(p, i), "Empty directive", "Each extra entry is one directive, e.g. \"add_header X-Frame-Options DENY\".")
		}
	}
	return out
}
