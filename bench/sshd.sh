#!/usr/bin/env bash
# Starts N OpenSSH servers for the benchmarks, one per loopback address
# 127.0.0.2 .. 127.0.0.(N+1) on port 22 (root only; others get a free port
# each), with generated host and client keys. Prints the lines of a
# known_hosts file to DIR/known_hosts and the client key to DIR/id_ed25519;
# DIR/ports holds "ADDRESS PORT" per server. Stop them with: bash bench/sshd.sh stop DIR
# Usage: bash bench/sshd.sh start DIR N
set -euo pipefail
cmd=$1 dir=$2
if [ "$cmd" = stop ]; then
	pkill -f -- "-f $dir/sshd_" 2>/dev/null || true
	exit 0
fi
n=${3:-20}
command -v /usr/sbin/sshd >/dev/null || { echo "sshd missing: apt-get install openssh-server" >&2; exit 1; }
mkdir -p "$dir" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" <<<y >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" <<<y >/dev/null
cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"
: >"$dir/known_hosts"; : >"$dir/ports"
for i in $(seq 2 $((n + 1))); do
	addr=127.0.0.$i
	if [ "$(id -u)" = 0 ]; then port=22; else port=$((20000 + i)); fi
	cat >"$dir/sshd_$i.conf" <<CONF
ListenAddress $addr:$port
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile none
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
UsePAM no
MaxSessions 100
MaxStartups 100:30:200
LogLevel ERROR
Subsystem sftp internal-sftp
CONF
	/usr/sbin/sshd -D -f "$dir/sshd_$i.conf" -E "$dir/sshd_$i.log" &
	if [ "$port" = 22 ]; then echo "$addr $(cut -d' ' -f1,2 "$dir/host_key.pub")"; else echo "[$addr]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")"; fi >>"$dir/known_hosts"
	echo "$addr $port" >>"$dir/ports"
done
while read -r addr port; do
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && continue 2; sleep 0.05; done
	echo "sshd on $addr:$port did not start:" >&2; cat "$dir"/sshd_*.log >&2; bash "$0" stop "$dir"; exit 1
done <"$dir/ports"
