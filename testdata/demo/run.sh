#!/usr/bin/env bash
# `make demo`: zrun's main job on the example stack. Until the deploy
# workflow lands, that is the guide's health check: this starts local
# stand-ins of the five services (some slow to come up, so the retries
# show), runs the shipped health-check workflow against them in the dev
# environment, and stops the stand-ins whatever happens.
set -euo pipefail
zrun=${1:-bin/zrun}
cd "$(dirname "$0")/../.."

go build -o bin/zrun-standin ./cmd/zrun-standin

for port in 8080 7001 7002 7003 7004; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; stop what listens there (ss -ltnp 'sport = :$port') and retry" >&2
		exit 1
	fi
done

bin/zrun-standin -max 2m \
	gateway=127.0.0.1:8080@1s calc=127.0.0.1:7001 risk=127.0.0.1:7002@3s \
	doc=127.0.0.1:7003@2s billing=127.0.0.1:7004 >/dev/null &
standin=$!
trap 'kill $standin 2>/dev/null; wait $standin 2>/dev/null || true' EXIT

"$zrun" validate
"$zrun" plan health-check --env dev --param interval=1s
"$zrun" workflow health-check --env dev --param interval=1s --param timeout=20s
