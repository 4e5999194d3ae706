package nginx

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRender: the rendered file is deterministic, readable and quotes
// what nginx would otherwise split or misread.
func TestRender(t *testing.T) {
	a := &siteArgs{
		Path:       "/etc/nginx/conf.d/zakupai.conf",
		Upstreams:  val(list{obj{"name": "api", "servers": list{"127.0.0.1:8001", "127.0.0.1:8002"}, "max_fails": 3, "fail_timeout": "10s"}}),
		RateLimits: val(list{obj{"name": "api", "rate": "60r/m"}}),
		Servers: val(list{obj{
			"server_names": list{"api.example.com"}, "listen": list{443, "[::]:443"}, "http2": true, "redirect_http": true,
			"tls": obj{"certificate": testPEMCert, "key": testPEMKey, "ciphers": "HIGH:!aNULL:!MD5"},
			"locations": list{
				obj{"path": "/api/", "proxy_pass": "http://api", "rate_limit": obj{"zone": "api", "burst": 10, "nodelay": true, "status": 429},
					"proxy_headers": obj{"Host": "$host", "X-Note": `say "hi"`}},
				obj{"path": `~* \.(png|jpg)$`, "return": "404"},
				obj{"path": "= /health", "return": "200 ok then", "extra": list{"add_header X-Frame-Options DENY"}},
			},
		}}),
	}
	files, diags := a.files()
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.path)
	}
	if want := []string{"/etc/nginx/conf.d/zakupai.api.example.com.crt", "/etc/nginx/conf.d/zakupai.api.example.com.key", "/etc/nginx/conf.d/zakupai.conf"}; !cmp.Equal(paths, want) {
		t.Errorf("files %v, want %v", paths, want)
	}
	if !files[1].secret || files[1].mode != 0o600 || files[0].mode != 0o644 {
		t.Errorf("key %+v, certificate mode %v", files[1], files[0].mode)
	}
	want := `# Managed by zrun (nginx.site): changes made here are overwritten.

limit_req_zone $binary_remote_addr zone=api:10m rate=60r/m;

upstream api {
    server 127.0.0.1:8001 max_fails=3 fail_timeout=10s;
    server 127.0.0.1:8002 max_fails=3 fail_timeout=10s;
}

server {
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name api.example.com;

    ssl_certificate /etc/nginx/conf.d/zakupai.api.example.com.crt;
    ssl_certificate_key /etc/nginx/conf.d/zakupai.api.example.com.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers HIGH:!aNULL:!MD5;

    location /api/ {
        limit_req zone=api burst=10 nodelay;
        limit_req_status 429;
        proxy_pass http://api;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Note "say \"hi\"";
    }

    location ~* "\\.(png|jpg)$" {
        return 404;
    }

    location = /health {
        add_header X-Frame-Options DENY;
        return 200 "ok then";
    }
}

server {
    listen 80;
    server_name api.example.com;
    return 301 https://$host$request_uri;
}
`
	got := string(files[2].content)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rendered (-want +got):\n%s", diff)
	}
	again, _ := a.files()
	if string(again[2].content) != got {
		t.Error("two renders differ")
	}

	u := renderUpstream(&upstream{name: "app", servers: []string{"127.0.0.1:9001"}, keepalive: 16})
	if want := "# Managed by zrun (nginx.upstream): changes made here are overwritten.\n\nupstream app {\n    server 127.0.0.1:9001;\n    keepalive 16;\n}\n"; u != want {
		t.Errorf("upstream file:\n%s", u)
	}
	if got := parseServers([]byte(u)); !cmp.Equal(got, []string{"127.0.0.1:9001"}) {
		t.Errorf("parseServers = %v", got)
	}

	// TLS files the target has already are referenced, not uploaded.
	b := &siteArgs{Path: "/etc/nginx/conf.d/z.conf", Servers: val(list{obj{"listen": list{443},
		"tls": obj{"certificate_path": "/etc/ssl/certs/zakupai.crt", "key_path": "/etc/ssl/private/zakupai.key"}}})}
	files, diags = b.files()
	if diags.HasErrors() || len(files) != 1 || !strings.Contains(string(files[0].content), "    ssl_certificate_key /etc/ssl/private/zakupai.key;\n") {
		t.Errorf("referenced TLS files: %v %v", diags.Err(), files)
	}
}
