#!/usr/bin/env bash
# Starts an nginx of its own under DIR, as a server's would run as a
# service: DIR/nginx.conf includes DIR/conf.d/*.conf, and its pid file,
# error log and temporary files are under DIR too. The Go tests' twin is
# plugins/nginx/nginxtest.
#   bash testdata/nginx.sh DIR         writes the configuration, starts nginx
#   bash testdata/nginx.sh stop DIR    stops it (nothing when it is not running)
set -euo pipefail
if [ "${1:-}" = stop ]; then
	d=$2
	if [ -f "$d/nginx.pid" ]; then nginx -c "$d/nginx.conf" -s stop 2>/dev/null || true; fi
	exit 0
fi
d=$1
mkdir -p "$d/conf.d" "$d/tmp"
cat >"$d/nginx.conf" <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    include $d/conf.d/*.conf;
}
CONF
nginx -c "$d/nginx.conf"
