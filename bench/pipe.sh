#!/usr/bin/env bash
# A 1 GiB pipe between two local exec.run steps, side by side with the
# shell's `cat f | cat > /dev/null` in the same run, interleaved:
#   - wall time of each, and the ratio zrun / shell;
#   - zrun's own CPU time (its process only, from /proc/PID/stat, sampled
#     until it exits) while the bytes flow: the goal is that zrun's process
#     does not touch them, so it stays what an empty run costs;
#   - the same zrun workflow on an empty file, for zrun's fixed cost.
# Usage: bash bench/pipe.sh [ROUNDS]   (default 5; builds zrun from this
# checkout, or uses $ZRUN)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
zrun=${ZRUN:-}
if [ -z "$zrun" ]; then
	zrun=$work/zrun
	go build -o "$zrun" ./cmd/zrun
fi
tick=$(getconf CLK_TCK)

mkdir -p "$work/p/workflows"
echo 'zrun { project = "pipebench" }' >"$work/p/zrun.hcl"
cat >"$work/p/workflows/pipe.hcl" <<'HCL'
workflow "pipe" {
  param "file" {}
  step "dump" {
    action  = exec.run
    command = ["cat", param.file]
  }
  step "load" {
    action = exec.run
    stdin  = step.dump.stream
    script = "cat > /dev/null"
  }
}
HCL
head -c 1G /dev/zero >"$work/f"
: >"$work/empty"

now() { date +%s.%N; }

# zrun_run FILE: prints "WALL CPU" (seconds), CPU being zrun's own
# process's user+system time at its last sample.
zrun_run() {
	local start end cpu=0 pid stat
	start=$(now)
	"$zrun" -C "$work/p" run pipe --param "file=$1" --output json >/dev/null &
	pid=$!
	while stat=$(cat "/proc/$pid/stat" 2>/dev/null); do
		stat=${stat##*) }
		set -- $stat
		# fields after the name: state is 1st, utime the 12th, stime the 13th
		cpu=$(( ${12} + ${13} ))
		case $1 in Z) break ;; esac
		sleep 0.02
	done
	wait "$pid"
	end=$(now)
	echo "$(echo "$end - $start" | bc -l) $(echo "$cpu / $tick" | bc -l)"
}

shell_run() {
	local start end
	start=$(now)
	cat "$work/f" | cat >/dev/null
	end=$(now)
	echo "$end - $start" | bc -l
}

zrun_run "$work/empty" >/dev/null # warm the page cache and the binary
cat "$work/f" >/dev/null
sw=0 zw=0 zc=0 ew=0 ec=0
for r in $(seq "$rounds"); do
	s=$(shell_run)
	read -r w c <<<"$(zrun_run "$work/f")"
	read -r e ecpu <<<"$(zrun_run "$work/empty")"
	printf 'round %d: shell %.3fs  zrun %.3fs (zrun cpu %.2fs)  zrun, empty file %.3fs (cpu %.2fs)\n' "$r" "$s" "$w" "$c" "$e" "$ecpu"
	sw=$(echo "$sw + $s" | bc -l) zw=$(echo "$zw + $w" | bc -l) zc=$(echo "$zc + $c" | bc -l)
	ew=$(echo "$ew + $e" | bc -l) ec=$(echo "$ec + $ecpu" | bc -l)
done
printf '\n1 GiB pipe, mean of %d rounds:\n' "$rounds"
printf '  cat f | cat > /dev/null   %.3fs\n' "$(echo "$sw / $rounds" | bc -l)"
printf '  zrun dump | load          %.3fs  (%.2fx the shell)\n' "$(echo "$zw / $rounds" | bc -l)" "$(echo "$zw / $sw" | bc -l)"
printf '  zrun on an empty file     %.3fs  (its fixed cost)\n' "$(echo "$ew / $rounds" | bc -l)"
printf "  zrun's own CPU: %.3fs with 1 GiB flowing, %.3fs with none\n" "$(echo "$zc / $rounds" | bc -l)" "$(echo "$ec / $rounds" | bc -l)"
