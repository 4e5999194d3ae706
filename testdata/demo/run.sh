#!/usr/bin/env bash
# `make demo`: zrun's main job on the example stack. Starts a Docker Engine
# (installing Debian's docker.io when it is missing), then deploys the
# example stack (testdata/stack: one static Go server FROM scratch standing
# for each of the guide's services) to the dev environment, shows it
# healthy and the release recorded, deploys a change (only what changed is
# replaced, health-gated), rolls it back, then migrates the stack's
# database (the machine's PostgreSQL 15, installed when missing), backs it
# up (streamed, encrypted, read back and drilled) and restores it beside the
# live one and swaps, services stopped and started around it; then puts an
# nginx of its own in front (TLS, the API rate limit; nginx-light installed
# when missing) and deploys a release with no downtime while a client sends
# requests through it; and removes the stack whatever happens.
set -euo pipefail
zrun=${1:-bin/zrun}
cd "$(dirname "$0")/../.."

sock=$(timeout 600 bash testdata/docker.sh)
[ -n "$sock" ] || { echo "no Docker Engine: run as root, or start one and set DOCKER_HOST" >&2; exit 1; }
export DOCKER_HOST=unix://$sock

for port in 8080 7001 7002 7003 7004 8082 8443 8081; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; stop what listens there (ss -ltnp 'sport = :$port') and retry" >&2
		exit 1
	fi
done
# The stack's database: the dev role and database on this machine's
# PostgreSQL (the dev password is testdata/stack/.env.dev's).
dsn=$(timeout 600 bash testdata/postgres.sh)
[ -n "$dsn" ] || { echo "no PostgreSQL: run as root, or start one and set ZAKUPAI_DB_HOST and friends" >&2; exit 1; }
pw=$(sed -n 's/^DB_PASSWORD=//p' testdata/stack/.env.dev)
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<-SQL
	DO \$\$ BEGIN CREATE ROLE zakupai LOGIN CREATEDB PASSWORD '$pw'; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;
SQL
for db in $(runuser -u postgres -- psql -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'zakupai\_dev%'"); do
	runuser -u postgres -- psql -qc "DROP DATABASE $db WITH (FORCE)"
done
runuser -u postgres -- psql -qc "CREATE DATABASE zakupai_dev OWNER zakupai"
export ZAKUPAI_BACKUP_DIR=$(mktemp -d)
ngx=$(mktemp -d)
trap '"$zrun" workflow down --env dev >/dev/null || true; bash testdata/nginx.sh stop "$ngx"; rm -rf "$ZAKUPAI_BACKUP_DIR" "$ngx"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "validate the project"
"$zrun" validate
step "plan the first deploy"
"$zrun" plan deploy --env dev --param version=1.0.0
step "deploy 1.0.0"
"$zrun" workflow deploy --env dev --param version=1.0.0
step "deploy 1.0.0 again: nothing changes"
"$zrun" workflow deploy --env dev --param version=1.0.0
step "plan 1.0.1: every service's VERSION changes"
"$zrun" plan deploy --env dev --param version=1.0.1
step "deploy 1.0.1, health-gated"
"$zrun" workflow deploy --env dev --param version=1.0.1
step "the releases"
"$zrun" releases --env dev
step "roll back to the previous release"
"$zrun" workflow rollback --env dev
step "after the rollback"
"$zrun" releases --env dev --limit 1
curl -s http://127.0.0.1:8080/ && echo

step "migrate the database (each file once), and load the sample data"
"$zrun" plan migrate --env dev
"$zrun" workflow migrate --env dev
PGPASSWORD=$pw psql -q -h 127.0.0.1 -U zakupai -d zakupai_dev -f testdata/stack/db/seed.sql
step "back it up: pg_dump | zstd | age | upload, read back, drilled, manifest last"
"$zrun" workflow backup --env dev
ls -l "$ZAKUPAI_BACKUP_DIR"
step "restore it beside the live database, check it, swap (services stopped and started)"
PGPASSWORD=$pw psql -q -h 127.0.0.1 -U zakupai -d zakupai_dev -c "DELETE FROM payments"
"$zrun" workflow restore --env dev
PGPASSWORD=$pw psql -h 127.0.0.1 -U zakupai -d zakupai_dev -Atc "SELECT 'payments restored: ' || count(*) FROM payments"
runuser -u postgres -- psql -Atc "SELECT 'kept: ' || datname FROM pg_database WHERE datname LIKE 'zakupai\_dev\_pre\_restore\_%'"

step "put nginx in front: the guide's TLS sites, the API rate limit, an upstream per service"
if ! command -v nginx >/dev/null || ! command -v openssl >/dev/null; then
	echo "installing nginx-light and openssl"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light openssl >/dev/null
	nginx -s stop 2>/dev/null || true # the package's own, if it started one
fi
# An nginx of the demo's own (as a server's runs, as a service), on
# loopback ports, with a self-signed certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=zakupai.localhost \
	-addext "subjectAltName=DNS:zakupai.localhost,DNS:api.zakupai.localhost" -keyout "$ngx/site.key" -out "$ngx/site.crt" 2>/dev/null
bash testdata/nginx.sh "$ngx"
export ZAKUPAI_PROXY=1 ZAKUPAI_NGINX_CONF=$ngx/nginx.conf ZAKUPAI_NGINX_CONF_DIR=$ngx/conf.d \
	ZAKUPAI_HTTPS_PORT=8443 ZAKUPAI_HTTP_PORT=8081 ZAKUPAI_TLS_CERTIFICATE=$ngx/site.crt ZAKUPAI_TLS_KEY=$ngx/site.key
"$zrun" workflow proxy --env dev
site() { curl -sS --max-time 5 --cacert "$ngx/site.crt" --resolve "$1:8443:127.0.0.1" "https://$1:8443/"; }
site zakupai.localhost && echo

step "deploy 1.0.2 with no downtime while a client sends requests through nginx"
(
	ok=0 failed=0
	while [ ! -f "$ngx/stop" ]; do
		if site zakupai.localhost >/dev/null 2>&1; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
	done
	echo "$ok $failed" >"$ngx/counts"
) &
client=$!
"$zrun" workflow deploy --env dev --param version=1.0.2
touch "$ngx/stop"
wait "$client"
read -r ok failed <"$ngx/counts"
echo "requests through nginx during the deploy: $ok answered, $failed failed"
site zakupai.localhost && echo
[ "$failed" = 0 ] || { echo "requests failed during a zero-downtime deploy" >&2; exit 1; }
