package nginx

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The site model: what nginx.site's arguments decode to (decode.go) and
// what render writes. Every string in it has been checked by the decoder
// (checkValue), so rendering cannot inject a directive.

type site struct {
	upstreams  []*upstream
	rateLimits []*rateLimit
	servers    []*serverBlock
}

type upstream struct {
	name        string
	servers     []string
	keepalive   int
	maxFails    *int
	failTimeout string
}

type rateLimit struct {
	name, key, rate, size string
}

type serverBlock struct {
	names          []string
	listen         []string
	tls            *tlsConf
	http2          bool
	redirectHTTP   bool
	redirectListen []string
	locations      []*location
	extra          []string
}

type tlsConf struct {
	certificate, key         string // PEM contents; key is secret
	certificatePath, keyPath string // resolved by tlsFiles
	upload                   bool   // false: the paths name files the target has
	protocols                []string
	ciphers                  string
}

type location struct {
	path         string
	proxyPass    string
	proxyHeaders map[string]string
	rateLimit    *limitReq
	ret          string
	extra        []string
}

type limitReq struct {
	zone    string
	burst   int
	nodelay bool
	status  int
}

// defaultProxyHeaders are the headers a proxied location sets unless it
// says otherwise.
var defaultProxyHeaders = map[string]string{
	"Host":              "$host",
	"X-Real-IP":         "$remote_addr",
	"X-Forwarded-For":   "$proxy_add_x_forwarded_for",
	"X-Forwarded-Proto": "$scheme",
}

const header = "# Managed by zrun (%s): changes made here are overwritten.\n"

// writer renders nginx configuration with four-space indentation.
type writer struct {
	b     strings.Builder
	depth int
}

// line writes one simple directive: the name, its quoted arguments, ";".
func (w *writer) line(name string, args ...string) {
	w.b.WriteString(strings.Repeat("    ", w.depth))
	w.b.WriteString(name)
	for _, a := range args {
		w.b.WriteByte(' ')
		w.b.WriteString(quote(a))
	}
	w.b.WriteString(";\n")
}

// raw writes an extra directive as the user wrote it (checked to be one
// simple directive), adding the final ";".
func (w *writer) raw(directive string) {
	w.b.WriteString(strings.Repeat("    ", w.depth) + strings.TrimSpace(directive) + ";\n")
}

func (w *writer) open(name string, args ...string) {
	w.b.WriteString(strings.Repeat("    ", w.depth) + name)
	for _, a := range args {
		w.b.WriteString(" " + quote(a))
	}
	w.b.WriteString(" {\n")
	w.depth++
}

func (w *writer) close() {
	w.depth--
	w.b.WriteString(strings.Repeat("    ", w.depth) + "}\n")
}

func (w *writer) blank() { w.b.WriteString("\n") }

// bare matches the values nginx reads the same with or without quotes.
var bare = regexp.MustCompile(`^[A-Za-z0-9_./:$@=+*~^,%\-\[\]!?&|]+$`)

// quote returns v as one nginx token: bare when it can be, else in
// double quotes with backslashes and quotes escaped.
func quote(v string) string {
	if bare.MatchString(v) {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// render writes the site's configuration file.
func (s *site) render() string {
	w := &writer{}
	fmt.Fprintf(&w.b, header, "nginx.site")
	if len(s.rateLimits) > 0 {
		w.blank()
	}
	for _, rl := range s.rateLimits {
		w.line("limit_req_zone", rl.key, "zone="+rl.name+":"+rl.size, "rate="+rl.rate)
	}
	for _, u := range s.upstreams {
		w.blank()
		u.write(w)
	}
	for _, sb := range s.servers {
		w.blank()
		s.writeServer(w, sb)
		if sb.redirectHTTP {
			w.blank()
			sb.writeRedirect(w)
		}
	}
	return w.b.String()
}

// renderUpstream writes nginx.upstream's file: one upstream block.
func renderUpstream(u *upstream) string {
	w := &writer{}
	fmt.Fprintf(&w.b, header, "nginx.upstream")
	w.blank()
	u.write(w)
	return w.b.String()
}

func (u *upstream) write(w *writer) {
	w.open("upstream", u.name)
	for _, srv := range u.servers {
		args := []string{srv}
		if u.maxFails != nil {
			args = append(args, "max_fails="+strconv.Itoa(*u.maxFails))
		}
		if u.failTimeout != "" {
			args = append(args, "fail_timeout="+u.failTimeout)
		}
		w.line("server", args...)
	}
	if u.keepalive > 0 {
		w.line("keepalive", strconv.Itoa(u.keepalive))
	}
	w.close()
}

func (s *site) writeServer(w *writer, sb *serverBlock) {
	w.open("server")
	for _, l := range sb.listen {
		args := []string{l}
		if sb.tls != nil {
			args = append(args, "ssl")
		}
		if sb.http2 {
			args = append(args, "http2")
		}
		w.line("listen", args...)
	}
	if len(sb.names) > 0 {
		w.line("server_name", sb.names...)
	}
	if t := sb.tls; t != nil {
		w.blank()
		w.line("ssl_certificate", t.certificatePath)
		w.line("ssl_certificate_key", t.keyPath)
		w.line("ssl_protocols", t.protocols...)
		if t.ciphers != "" {
			w.line("ssl_ciphers", t.ciphers)
		}
	}
	for _, e := range sb.extra {
		w.raw(e)
	}
	for _, l := range sb.locations {
		w.blank()
		s.writeLocation(w, l)
	}
	w.close()
}

// locationModifiers are the match modifiers a location path may start with.
var locationModifiers = []string{"= ", "~* ", "~ ", "^~ "}

func (s *site) writeLocation(w *writer, l *location) {
	var args []string
	p := l.path
	for _, m := range locationModifiers {
		if strings.HasPrefix(p, m) {
			args = append(args, strings.TrimSpace(m))
			p = strings.TrimSpace(strings.TrimPrefix(p, m))
			break
		}
	}
	w.open("location", append(args, p)...)
	if r := l.rateLimit; r != nil {
		args := []string{"zone=" + r.zone}
		if r.burst > 0 {
			args = append(args, "burst="+strconv.Itoa(r.burst))
		}
		if r.nodelay {
			args = append(args, "nodelay")
		}
		w.line("limit_req", args...)
		if r.status != 0 {
			w.line("limit_req_status", strconv.Itoa(r.status))
		}
	}
	if l.proxyPass != "" {
		// HTTP/1.1 without the client's "Connection: close", so that an
		// upstream's keepalive connections are reused (its upstream block
		// may be in another file: nginx.upstream's).
		w.line("proxy_pass", l.proxyPass)
		w.line("proxy_http_version", "1.1")
		w.line("proxy_set_header", "Connection", "")
		headers := l.proxyHeaders
		if headers == nil {
			headers = defaultProxyHeaders
		}
		for _, name := range sortedKeys(headers) {
			w.line("proxy_set_header", name, headers[name])
		}
	}
	for _, e := range l.extra {
		w.raw(e)
	}
	if l.ret != "" {
		code, text, _ := strings.Cut(l.ret, " ")
		if text = strings.TrimSpace(text); text != "" {
			w.line("return", code, text)
		} else {
			w.line("return", code)
		}
	}
	w.close()
}

// writeRedirect writes the port-80 server that sends every request to
// the TLS server's first port.
func (sb *serverBlock) writeRedirect(w *writer) {
	w.open("server")
	for _, l := range sb.redirectListen {
		w.line("listen", l)
	}
	if len(sb.names) > 0 {
		w.line("server_name", sb.names...)
	}
	to := "https://$host$request_uri"
	if port := listenPort(sb.listen[0]); port != "443" {
		to = "https://$host:" + port + "$request_uri"
	}
	w.line("return", "301", to)
	w.close()
}

// listenPort is the port of a listen value: "443", "127.0.0.1:443",
// "[::]:443".
func listenPort(l string) string {
	if i := strings.LastIndexByte(l, ':'); i >= 0 {
		return l[i+1:]
	}
	return l
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
