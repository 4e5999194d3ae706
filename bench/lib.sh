# Shared by the benchmark scripts (sourced): interleaved rounds, medians
# and ratios. Needs $repeats set by the caller.

# interleave LABEL CMD [LABEL CMD]...: runs the commands round-robin, one
# of each per round, for $repeats rounds, so that the machine's speed
# drifting during the run (a shared VM's does) affects them all alike; sets
# med[LABEL] to each one's median wall time in ms, and cpu[LABEL] to its
# median CPU time (user + sys of the command and all its processes), which
# other load on the machine disturbs less. A function named before_each,
# when the caller defines one, runs untimed before every command.
declare -A med cpu
interleave() {
	local -a labels=() cmds=()
	while [ $# -gt 0 ]; do labels+=("$1"); cmds+=("$2"); shift 2; done
	local -A times=() cpus=()
	local i t0 t1 c
	for _ in $(seq "$repeats"); do
		for i in "${!labels[@]}"; do
			if declare -F before_each >/dev/null; then before_each; fi
			t0=$(date +%s%N)
			c=$({ TIMEFORMAT='%3U %3S'; time eval "${cmds[$i]}" >/dev/null 2>&1 || echo FAILED; } 2>&1)
			t1=$(date +%s%N)
			if [[ $c == *FAILED* ]]; then echo "FAILED: ${cmds[$i]}" >&2; return 1; fi
			times[${labels[$i]}]+="$(( (t1 - t0) / 1000000 )) "
			cpus[${labels[$i]}]+="$(awk -v u="${c% *}" -v s="${c#* }" 'BEGIN { printf "%d", (u + s) * 1000 }') "
		done
	done
	for i in "${labels[@]}"; do
		med[$i]=$(median ${times[$i]})
		cpu[$i]=$(median ${cpus[$i]})
	done
}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown; }

# alternate COUNTER A B: prints A, then B, then A... on successive calls
# with the same COUNTER (a file: interleave's commands run in subshells,
# which keep no variable).
alternate() {
	local n
	n=$(($(cat "$1" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$1"
	if [ $((n % 2)) = 1 ]; then echo "$2"; else echo "$3"; fi
}
