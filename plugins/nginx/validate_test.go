package nginx

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

const testPEMCert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
const testPEMKey = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n"

// TestValidate: bad arguments get a diagnostic on their own path, before
// anything runs (every case is refused by validation: none reaches the
// host's nginx), and never quote a key.
func TestValidate(t *testing.T) {
	servers := func(s obj) cty.Value { return val(list{s}) }
	s0 := cty.GetAttrPath("servers").Index(cty.NumberIntVal(0))
	loc0 := s0.GetAttr("locations").Index(cty.NumberIntVal(0))
	tests := map[string]struct {
		action  string
		args    map[string]any
		summary string
		path    cty.Path
	}{
		"directive injected in a server name": {"site", map[string]any{"servers": servers(obj{"listen": list{80}, "server_names": list{"a.example; include /etc/shadow"}})},
			"Invalid character", s0.GetAttr("server_names").Index(cty.NumberIntVal(0))},
		"block closed in an extra directive": {"site", map[string]any{"servers": servers(obj{"listen": list{80}, "locations": list{obj{"path": "/", "extra": list{"return 200 } server {"}}}})},
			"Invalid character", loc0.GetAttr("extra").Index(cty.NumberIntVal(0))},
		"newline in a proxy header": {"site", map[string]any{"servers": servers(obj{"listen": list{80}, "locations": list{obj{"path": "/", "proxy_pass": "http://a", "proxy_headers": obj{"X-A": "1\nevil on"}}}})},
			"Invalid character", loc0.GetAttr("proxy_headers").GetAttr("X-A")},
		"unknown attribute": {"site", map[string]any{"servers": servers(obj{"listen": list{80}, "listn": list{80}})},
			"Unsupported attribute", s0.GetAttr("listn")},
		"no listen": {"site", map[string]any{"servers": servers(obj{"server_names": list{"a"}})},
			"Missing listen", s0.GetAttr("listen")},
		"bad listen": {"site", map[string]any{"servers": servers(obj{"listen": list{"443 ssl"}})},
			"Invalid listen", s0.GetAttr("listen").Index(cty.NumberIntVal(0))},
		"undeclared zone": {"site", map[string]any{"servers": servers(obj{"listen": list{80}, "locations": list{obj{"path": "/", "rate_limit": obj{"zone": "api"}}}})},
			"Unknown zone", loc0.GetAttr("rate_limit").GetAttr("zone")},
		"bad rate": {"site", map[string]any{"rate_limits": val(list{obj{"name": "api", "rate": "60/m"}}), "servers": servers(obj{"listen": list{80}})},
			"Invalid rate", cty.GetAttrPath("rate_limits").Index(cty.NumberIntVal(0)).GetAttr("rate")},
		"bad upstream server": {"site", map[string]any{"upstreams": val(list{obj{"name": "app", "servers": list{"nohost"}}}), "servers": servers(obj{"listen": list{80}})},
			"Invalid server", cty.GetAttrPath("upstreams").Index(cty.NumberIntVal(0)).GetAttr("servers").Index(cty.NumberIntVal(0))},
		"key is not PEM": {"site", map[string]any{"servers": servers(obj{"listen": list{443}, "tls": obj{"certificate": testPEMCert, "key": "/etc/ssl/private/site.key"}})},
			"Not PEM", s0.GetAttr("tls").GetAttr("key")},
		"unknown protocol": {"site", map[string]any{"servers": servers(obj{"listen": list{443}, "tls": obj{"certificate": testPEMCert, "key": testPEMKey, "protocols": list{"TLSv1.3", "TLSv9"}}})},
			"Unknown protocol", s0.GetAttr("tls").GetAttr("protocols").Index(cty.NumberIntVal(1))},
		"redirect without tls": {"site", map[string]any{"servers": servers(obj{"listen": list{80}, "redirect_http": true})},
			"Redirect without TLS", s0.GetAttr("redirect_http")},
		"content and servers": {"site", map[string]any{"content": "server {}", "servers": servers(obj{"listen": list{80}})},
			"Conflicting arguments", cty.GetAttrPath("content")},
		"neither content nor servers": {"site", map[string]any{},
			"Missing site", cty.GetAttrPath("servers")},
		"relative site path": {"site", map[string]any{"path": "conf.d/site.conf", "content": "x"},
			"Relative path", cty.GetAttrPath("path")},
		"bad reload_timeout": {"site", map[string]any{"content": "x", "reload_timeout": "soon"},
			"Invalid duration", cty.GetAttrPath("reload_timeout")},
		"upstream server injected": {"upstream", map[string]any{"path": "/x.conf", "name": "app", "servers": []string{"127.0.0.1:1; include /x"}},
			"Invalid character", cty.GetAttrPath("servers").Index(cty.NumberIntVal(0))},
		"upstream without servers": {"upstream", map[string]any{"path": "/x.conf", "name": "app", "servers": []string{}},
			"No servers", cty.GetAttrPath("servers")},
		"bad drain": {"upstream", map[string]any{"path": "/x.conf", "name": "app", "servers": []string{"127.0.0.1:1"}, "drain": "a while"},
			"Invalid duration", cty.GetAttrPath("drain")},
		"upstream name": {"upstream", map[string]any{"path": "/x.conf", "name": "my app", "servers": []string{"127.0.0.1:1"}},
			"Invalid upstream name", cty.GetAttrPath("name")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := tc.args
			if _, ok := args["path"]; !ok {
				args["path"] = "/etc/nginx/conf.d/site.conf"
			}
			res := runAction(t, tc.action, args)
			d := res.wantErr(t, tc.summary, tc.path)
			if d.Detail == "" || strings.Contains(d.Detail, "SECRETKEYBYTES") {
				t.Errorf("detail %q", d.Detail)
			}
		})
	}
}
