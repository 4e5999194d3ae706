#!/usr/bin/env bash
# `make demo`: zrun's main job on the example stack. Starts a Docker Engine
# (installing Debian's docker.io when it is missing), then deploys the
# example stack (testdata/stack: one static Go server FROM scratch standing
# for each of the guide's services) to the dev environment, shows it
# healthy and the release recorded, deploys a change (only what changed is
# replaced, health-gated), rolls it back, and removes the stack whatever
# happens.
set -euo pipefail
zrun=${1:-bin/zrun}
cd "$(dirname "$0")/../.."

sock=$(timeout 600 bash testdata/docker.sh)
[ -n "$sock" ] || { echo "no Docker Engine: run as root, or start one and set DOCKER_HOST" >&2; exit 1; }
export DOCKER_HOST=unix://$sock

for port in 8080 7001 7002 7003 7004 8082; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; stop what listens there (ss -ltnp 'sport = :$port') and retry" >&2
		exit 1
	fi
done
trap '"$zrun" workflow down --env dev >/dev/null || true' EXIT

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
