#!/usr/bin/env bash
# Benchmarks from README's performance section, each side by side with its
# baselines in one run, reported as ratios:
#   1. 1,000 independent /bin/true steps: zrun (exec plugin, out of process)
#      vs go-task vs make -j2, wall and CPU time;
#   2. a 1,000-step chain of /bin/true: the same three;
#   3. `zrun validate` on the shipped project (wall time);
#   plus the in-process engine overhead per step, calls through a running
#   plugin, the plugin cold start and the wire's value encoding, measured
#   by `go test -bench`.
# Usage: bash bench/run.sh [ROUNDS]   (default 5; needs bin/zrun: `make build`)
# ZRUN_BASE=PATH adds another zrun binary (an older build) to benchmarks 1
# and 2, run interleaved with the rest; BENCH_ONLY=steps stops after them.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
zrun=$PWD/bin/zrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$(go env GOPATH)/bin:$PATH"

if ! command -v task >/dev/null; then
	echo "installing go-task (baseline)..." >&2
	go install github.com/go-task/task/v3/cmd/task@v3.54.0
fi

n=1000
gen() { # gen KIND DIR: write the zrun project, Taskfile and Makefile
	local kind=$1 dir=$2
	mkdir -p "$dir/workflows"
	{
		echo 'workflow "bench" {'
		for i in $(seq 0 $((n - 1))); do
			echo "  step \"s$i\" {"
			echo '    action  = exec.run'
			echo '    command = ["/bin/true"]'
			if [ "$kind" = chain ] && [ "$i" -gt 0 ]; then echo "    depends_on = [step.s$((i - 1))]"; fi
			echo '  }'
		done
		echo '}'
	} >"$dir/workflows/bench.hcl"
	{
		echo "version: '3'"
		echo 'tasks:'
		echo '  default:'
		if [ "$kind" = chain ]; then echo "    deps: [s$((n - 1))]"; else
			printf '    deps: ['; for i in $(seq 0 $((n - 1))); do printf 's%d,' "$i"; done; echo ']'
		fi
		for i in $(seq 0 $((n - 1))); do
			echo "  s$i:"
			if [ "$kind" = chain ] && [ "$i" -gt 0 ]; then echo "    deps: [s$((i - 1))]"; fi
			echo '    cmds: [/bin/true]'
			echo '    silent: true'
		done
	} >"$dir/Taskfile.yml"
	{
		if [ "$kind" = chain ]; then echo "all: s$((n - 1))"; else
			printf 'all:'; for i in $(seq 0 $((n - 1))); do printf ' s%d' "$i"; done; echo
		fi
		for i in $(seq 0 $((n - 1))); do
			if [ "$kind" = chain ] && [ "$i" -gt 0 ]; then echo "s$i: s$((i - 1))"; else echo "s$i:"; fi
			printf '\t@/bin/true\n'
		done
		printf '.PHONY: all'; for i in $(seq 0 $((n - 1))); do printf ' s%d' "$i"; done; echo
	} >"$dir/Makefile"
}

. bench/lib.sh
echo "Median of $repeats interleaved rounds, wall ms. $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(load) on $(nproc) cores."
echo
base=${ZRUN_BASE:-}
if [ -n "$base" ]; then
	echo "| benchmark | zrun | go-task | make -j2 | zrun/go-task | zrun/make | base | base/go-task | base/make |"
	echo "|---|---|---|---|---|---|---|---|---|"
else
	echo "| benchmark | zrun | go-task | make -j2 | zrun/go-task | zrun/make |"
	echo "|---|---|---|---|---|---|"
fi
cpurows=()
for kind in independent chain; do
	dir=$work/$kind
	gen "$kind" "$dir"
	extra=()
	if [ -n "$base" ]; then extra=(base "\"$base\" -C \"$dir\" workflow bench --output json"); fi
	interleave zrun "\"$zrun\" -C \"$dir\" workflow bench --output json" \
		task "task -d \"$dir\" --silent" \
		make "make -s -C \"$dir\" -j2" "${extra[@]}"
	row="| $n $kind /bin/true steps | ${med[zrun]} | ${med[task]} | ${med[make]} | $(ratio "${med[zrun]}" "${med[task]}") | $(ratio "${med[zrun]}" "${med[make]}") |"
	cpurow="| $n $kind, CPU ms | ${cpu[zrun]} | ${cpu[task]} | ${cpu[make]} | $(ratio "${cpu[zrun]}" "${cpu[task]}") | $(ratio "${cpu[zrun]}" "${cpu[make]}") |"
	if [ -n "$base" ]; then
		row+=" ${med[base]} | $(ratio "${med[base]}" "${med[task]}") | $(ratio "${med[base]}" "${med[make]}") |"
		cpurow+=" ${cpu[base]} | $(ratio "${cpu[base]}" "${cpu[task]}") | $(ratio "${cpu[base]}" "${cpu[make]}") |"
	fi
	echo "$row"
	cpurows+=("$cpurow")
done
printf '%s\n' "${cpurows[@]}"
echo "load average after: $(load)"
if [ "${BENCH_ONLY:-}" = steps ]; then exit 0; fi

# The ledger's cost: the same 1,000-step run recorded in the embedded store,
# in PostgreSQL when $ZRUN_TEST_POSTGRES names one, and not recorded.
echo
echo "| 1,000 independent steps | wall (ms) | vs no ledger |"
echo "|---|---|---|"
cmds=(none "ZRUN_LEDGER=off \"$zrun\" -C \"$work/independent\" workflow bench --output json"
	bolt "\"$zrun\" -C \"$work/independent\" workflow bench --output json")
if [ -n "${ZRUN_TEST_POSTGRES:-}" ]; then
	cmds+=(pg "ZRUN_LEDGER_DSN=\"$ZRUN_TEST_POSTGRES\" \"$zrun\" -C \"$work/independent\" workflow bench --output json")
fi
interleave "${cmds[@]}"
echo "| no ledger | ${med[none]} | 1.00 |"
echo "| embedded ledger (bbolt) | ${med[bolt]} | $(ratio "${med[bolt]}" "${med[none]}") |"
if [ -n "${ZRUN_TEST_POSTGRES:-}" ]; then
	echo "| PostgreSQL ledger | ${med[pg]} | $(ratio "${med[pg]}" "${med[none]}") |"
fi

# Each plugin process starts once per run, whatever the step count.
starts=$(ZRUN_LOG=debug "$zrun" -C "$work/independent" workflow bench --output json 2>&1 >/dev/null | grep -o 'plugin starts: .*' | head -1 || true)
echo
echo "plugin processes started for the $n-step run: ${starts:-unknown}"

# validate, with the plugin cache (an unchanged project: no plugin starts)
# and without, beside the bare start of the same binary (zrun version).
"$zrun" validate >/dev/null
repeats=$((repeats * 4)) interleave validate "\"$zrun\" validate" \
	cold "ZRUN_PLUGIN_CACHE=off \"$zrun\" validate" version "\"$zrun\" version"
echo "zrun validate on the shipped project (goal < 100 ms), medians of $((repeats * 4)):"
echo "  unchanged project (plugin cache): ${med[validate]} ms; without the cache: ${med[cold]} ms; zrun version: ${med[version]} ms"
echo "  ratios to zrun version: $(ratio "${med[validate]}" "${med[version]}") and $(ratio "${med[cold]}" "${med[version]}")"

echo
echo "go test -bench (engine overhead per step in process; calls through a plugin; plugin cold start; value encoding):"
go test -run '^$' -bench 'BenchmarkRun|BenchmarkLocalExec|BenchmarkColdStart|BenchmarkDynamicValue' -benchtime 20x ./engine ./plugins ./cmd/zrun ./sdk/rpc 2>&1 | grep -E '^Benchmark|ok|FAIL'
