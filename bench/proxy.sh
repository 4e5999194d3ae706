#!/usr/bin/env bash
# The guide's nginx set-up applied to a real nginx on loopback, side by side
# in one run, interleaved, each tool with an nginx of its own (same files):
#   - zrun: nginx.upstream (create_only) + nginx.site (a TLS site with the
#     api rate limit, its certificate and key uploaded): compare, write
#     atomically, nginx -t, reload, proof that the reload took;
#   - Ansible (Debian's 2.14): copy (certificate, key) + template (upstream,
#     site), a handler running nginx -t and nginx -s reload, as a playbook
#     for the guide's nginx would (it proves no reload).
# Two cases: no change (the same site again), and a changed site (the rate
# alternates between two values each round).
# Usage: bash bench/proxy.sh [ROUNDS]   (default 5; needs nginx and ansible:
# apt-get install nginx-light ansible)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
. bench/lib.sh
for tool in ansible-playbook nginx openssl; do
	command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install nginx-light ansible openssl" >&2; exit 1; }
done
work=$(mktemp -d)
cleanup() {
	for who in zrun ansible; do
		bash testdata/nginx.sh stop "$work/$who"
	done
	rm -rf "$work"
}
trap cleanup EXIT
make -s build
zrun=$PWD/bin/zrun

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=api.zakupai.localhost \
	-keyout "$work/site.key" -out "$work/site.crt" 2>/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# One nginx per tool: its main configuration includes its conf.d.
for who in zrun ansible; do
	d=$work/$who
	bash testdata/nginx.sh "$d"
done
zport=$(port)
aport=$(port)

# zrun's project: the site of workflows/proxy.hcl (the API server block).
proj=$work/project
mkdir -p "$proj/workflows" "$proj/environments"
echo 'zrun { project = "proxybench" }' >"$proj/zrun.hcl"
cat >"$proj/environments/bench.hcl" <<EOF
environment "bench" {}
secret "tls_certificate" { file = "$work/site.crt" }
secret "tls_key" { file = "$work/site.key" }
EOF
cat >"$proj/workflows/proxy.hcl" <<EOF
defaults "nginx" {
  config = "$work/zrun/nginx.conf"
}
workflow "proxy" {
  param "rate" {}
  step "upstream" {
    action      = nginx.upstream
    path        = "$work/zrun/conf.d/zakupai-api.upstream.conf"
    name        = "zakupai_api"
    servers     = ["127.0.0.1:8080"]
    create_only = true
  }
  step "site" {
    action      = nginx.site
    path        = "$work/zrun/conf.d/zakupai.conf"
    rate_limits = [{ name = "api", rate = param.rate }]
    servers = [{
      server_names = ["api.zakupai.localhost"]
      listen       = [$zport]
      http2        = true
      tls = {
        certificate      = secret.tls_certificate
        key              = secret.tls_key
        certificate_path = "$work/zrun/conf.d/zakupai.crt"
        key_path         = "$work/zrun/conf.d/zakupai.key"
      }
      locations = [{
        path       = "/"
        proxy_pass = "http://zakupai_api"
        rate_limit = { zone = "api", burst = 10, nodelay = true }
      }]
    }]
    depends_on = [step.upstream]
  }
}
EOF

# Ansible's playbook: the same two files, the certificate and the key.
a=$work/ansible
cat >"$work/upstream.j2" <<'EOF'
upstream zakupai_api {
    server 127.0.0.1:8080;
}
EOF
cat >"$work/site.j2" <<EOF
limit_req_zone \$binary_remote_addr zone=api:10m rate={{ rate }};

server {
    listen $aport ssl http2;
    server_name api.zakupai.localhost;
    ssl_certificate $a/conf.d/zakupai.crt;
    ssl_certificate_key $a/conf.d/zakupai.key;
    ssl_protocols TLSv1.2 TLSv1.3;

    location / {
        limit_req zone=api burst=10 nodelay;
        proxy_pass http://zakupai_api;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header X-Real-IP \$remote_addr;
    }
}
EOF
cat >"$work/play.yml" <<EOF
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - copy: { src: "$work/site.crt", dest: "$a/conf.d/zakupai.crt", mode: "0644" }
      notify: reload
    - copy: { src: "$work/site.key", dest: "$a/conf.d/zakupai.key", mode: "0600" }
      notify: reload
    - template: { src: "$work/upstream.j2", dest: "$a/conf.d/zakupai-api.upstream.conf", force: false }
      notify: reload
    - template: { src: "$work/site.j2", dest: "$a/conf.d/zakupai.conf" }
      notify: reload
  handlers:
    - name: reload
      shell: nginx -t -c $a/nginx.conf && nginx -s reload -c $a/nginx.conf
EOF
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False

zrun_apply() { "$zrun" -C "$proj" workflow proxy --env bench --param rate="$1"; }
ansible_apply() { ansible-playbook -i localhost, "$work/play.yml" -e rate="$1"; }
zrun_apply 60r/m >/dev/null
ansible_apply 60r/m >/dev/null

interleave "zrun, no change" "zrun_apply 60r/m" "Ansible, no change" "ansible_apply 60r/m"
zn=${med["zrun, no change"]} an=${med["Ansible, no change"]}
# The rate each tool applies next, alternating.
interleave "zrun, changed" 'zrun_apply $(alternate "$work/zrun.n" 30r/m 60r/m)' "Ansible, changed" 'ansible_apply $(alternate "$work/ansible.n" 30r/m 60r/m)'
zc=${med["zrun, changed"]} ac=${med["Ansible, changed"]}

echo "nginx set-up, $(date -u +%F' '%H:%M' UTC'), $repeats interleaved rounds, medians, load $(load):"
printf '  %-22s %6s ms   %-22s %6s ms   ratio %s\n' "zrun, no change" "$zn" "Ansible, no change" "$an" "$(ratio "$zn" "$an")"
printf '  %-22s %6s ms   %-22s %6s ms   ratio %s\n' "zrun, changed" "$zc" "Ansible, changed" "$ac" "$(ratio "$zc" "$ac")"
