#!/usr/bin/env bash
# Shipping one image from one Docker Engine to another: zrun's
# `docker.save | docker.load` (a workflow of two steps, the tar piped
# between them as the engine writes it) vs the docker CLI's
# `docker save | docker load`, between the same two engines, interleaved
# rounds; prints each one's median wall and CPU time and the ratio
# zrun / CLI, and zrun's fixed cost (the same workflow on a one-file
# image). The server engine has the images removed before every round,
# so each load loads it all, and the disk synced.
# Then the same over SSH, as a deploy ships to a server: zrun's docker.load
# on a host reached over SSH (the engine's socket dialled through the
# run's connection) vs `docker save | ssh HOST docker load`, against an
# OpenSSH server on 127.0.0.2 (bench/sshd.sh) in front of the second engine.
#   engines: ZRUN_TEST_DOCKER (default /run/zrun-docker/docker.sock) and
#   ZRUN_TEST_DOCKER_SERVER (default /run/zrun-docker-srv/docker.sock):
#   bash testdata/docker.sh; bash testdata/docker.sh server
#   image: FROM scratch with one layer of SIZE MiB of random bytes
# Usage: bash bench/docker-ship.sh [ROUNDS] [SIZE_MIB]   (default 5, 256;
# builds zrun from this checkout, or uses $ZRUN; the CLI is $DOCKER, or
# docker on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
repeats=${1:-5}
size=${2:-256}
from=${ZRUN_TEST_DOCKER:-/run/zrun-docker/docker.sock}
to=${ZRUN_TEST_DOCKER_SERVER:-/run/zrun-docker-srv/docker.sock}
from=${from#unix://} to=${to#unix://}
docker=${DOCKER:-docker}
image=zrun-bench/ship:1 tiny=zrun-bench/ship:tiny
work=$(mktemp -d)
cleanup() {
	bash bench/sshd.sh stop "$work/ssh"
	DOCKER_HOST=unix://$to "$docker" rmi -f "$image" "$tiny" >/dev/null 2>&1 || true
	DOCKER_HOST=unix://$from "$docker" rmi -f "$image" "$tiny" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
zrun=${ZRUN:-}
if [ -z "$zrun" ]; then
	zrun=$work/zrun
	go build -o "$zrun" ./cmd/zrun
fi

mkdir -p "$work/p/workflows" "$work/ctx"
echo 'zrun { project = "shipbench" }' >"$work/p/zrun.hcl"
cat >"$work/p/workflows/ship.hcl" <<'HCL'
workflow "ship" {
  param "image" {}
  param "from" {}
  param "to" {}
  param "host" { default = "local" } # the engine's: "srv" over SSH
  step "save" {
    action = docker.save
    images = [param.image]
    socket = param.from
  }
  step "load" {
    action = docker.load
    target = param.host
    from   = step.save.stream
    socket = param.to
  }
}
HCL
# The host "srv" over SSH, for the ship with host=srv.
bash bench/sshd.sh start "$work/ssh" 1 >/dev/null
read -r ssh_addr ssh_port <"$work/ssh/ports"
mkdir -p "$work/p/environments"
cat >"$work/p/environments/bench.hcl" <<HCL
environment "bench" {
  host "srv" {
    address          = "$ssh_addr"
    port             = $ssh_port
    user             = "$(id -un)"
    private_key_file = "$work/ssh/id_ed25519"
    known_hosts_file = "$work/ssh/known_hosts"
  }
}
HCL
head -c "${size}M" /dev/urandom >"$work/ctx/big"
printf 'FROM scratch\nCOPY big /big\nLABEL zrun.test=1\n' >"$work/ctx/Dockerfile"
DOCKER_BUILDKIT=0 DOCKER_HOST=unix://$from "$docker" build -q -t "$image" "$work/ctx" >/dev/null 2>&1
echo tiny >"$work/ctx/big"
DOCKER_BUILDKIT=0 DOCKER_HOST=unix://$from "$docker" build -q -t "$tiny" "$work/ctx" >/dev/null 2>&1
rm -f "$work/ctx/big"

# Every ship starts from a synced disk: a load writes the image twice
# (unpacked, then registered), and the write-back of one round's must not
# slow the next one down.
before_each() {
	DOCKER_HOST=unix://$to "$docker" rmi -f "$image" "$tiny" >/dev/null 2>&1 || true
	sync
}
zrun_ship="'$zrun' -C '$work/p' run ship -p from=$from -p to=$to --output json -p image="
cli_ship="DOCKER_HOST=unix://$from '$docker' save $image | DOCKER_HOST=unix://$to '$docker' load"
zrun_ssh="'$zrun' -C '$work/p' run ship --env bench -p host=srv -p from=$from -p to=$to --output json -p image=$image"
ssh_cmd="ssh -q -i '$work/ssh/id_ed25519' -o UserKnownHostsFile='$work/ssh/known_hosts' -o BatchMode=yes -p $ssh_port $(id -un)@$ssh_addr"
cli_ssh="DOCKER_HOST=unix://$from '$docker' save $image | $ssh_cmd 'DOCKER_HOST=unix://$to $docker load'"

echo "shipping a ${size} MiB image from $from to $to, $repeats interleaved rounds (load $(load))" >&2
interleave zrun "$zrun_ship$image" cli "$cli_ship" zrun-tiny "$zrun_ship$tiny"
# zrun's ship must land the same image: ship once more, and check.
before_each
eval "$zrun_ship$image" >/dev/null
want=$(DOCKER_HOST=unix://$from "$docker" image inspect -f '{{.Id}}' "$image")
got=$(DOCKER_HOST=unix://$to "$docker" image inspect -f '{{.Id}}' "$image")
[ "$want" = "$got" ] || { echo "the server has $got, want $want" >&2; exit 1; }

echo "the same over SSH to $ssh_addr:$ssh_port, $repeats interleaved rounds (load $(load))" >&2
interleave zrun-ssh "$zrun_ssh" cli-ssh "$cli_ssh"
before_each
eval "$zrun_ssh" >/dev/null
got=$(DOCKER_HOST=unix://$to "$docker" image inspect -f '{{.Id}}' "$image")
[ "$want" = "$got" ] || { echo "over SSH the server has $got, want $want" >&2; exit 1; }

printf '\n%d MiB image, engine to engine, median of %d rounds:\n' "$size" "$repeats"
printf '  docker save | docker load     %6d ms  (cpu %d ms)\n' "${med[cli]}" "${cpu[cli]}"
printf '  zrun docker.save | docker.load %5d ms  (cpu %d ms)  = %sx the CLI\n' "${med[zrun]}" "${cpu[zrun]}" "$(ratio "${med[zrun]}" "${med[cli]}")"
printf '  zrun on a one-file image       %5d ms  (cpu %d ms: its fixed cost)\n' "${med[zrun-tiny]}" "${cpu[zrun-tiny]}"
printf '\n%d MiB image over SSH (%s), median of %d rounds:\n' "$size" "$ssh_addr" "$repeats"
printf '  docker save | ssh HOST docker load  %6d ms  (cpu %d ms)\n' "${med[cli-ssh]}" "${cpu[cli-ssh]}"
printf '  zrun docker.save | docker.load     %6d ms  (cpu %d ms)  = %sx the CLI\n' "${med[zrun-ssh]}" "${cpu[zrun-ssh]}" "$(ratio "${med[zrun-ssh]}" "${med[cli-ssh]}")"
printf '  (machine load after: %s)\n' "$(load)"
