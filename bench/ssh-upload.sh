#!/usr/bin/env bash
# Upload of a 1 GiB file to one host: zrun's SSH communicator (Target.Create
# over SFTP, engine/targets) vs scp, to the same sshd started on loopback,
# best of 3 each, interleaved; prints both times and the ratio (goal: zrun
# within 1.1x of scp). Needs /usr/sbin/sshd (apt-get install openssh-server).
# Usage: bash bench/ssh-upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ZRUN_BENCH_UPLOAD=1 go test ./engine/targets/ -run '^TestUploadVsScp$' -count=1 -v -timeout 20m |
	grep -E 'best of|SKIP|FAIL|^ok'
