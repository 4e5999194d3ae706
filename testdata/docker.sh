#!/usr/bin/env bash
# Installs (if missing) and starts a Docker Engine of zrun's own for the
# docker plugin's tests and `make demo`, and prints its socket on stdout
# (everything else goes to stderr). Idempotent; needs root.
#   bash testdata/docker.sh          the local engine: /run/zrun-docker/docker.sock
#   bash testdata/docker.sh server   a second engine standing for a server:
#       its own network namespace (zrun-srv, reached from here through a
#       veth pair, 10.251.0.1 here and 10.251.0.2 there), data root and
#       socket (/run/zrun-docker-srv/docker.sock)
#   bash testdata/docker.sh stop     stops both
# When the machine runs its own dockerd (/var/run/docker.sock answers), the
# local engine is that one: two engines in one network namespace fight over
# the docker0 bridge.
set -euo pipefail
exec 3>&1 1>&2
mode=${1:-local}
if [ "$(id -u)" != 0 ]; then
	echo "docker.sh: not root; the docker tests will skip (set ZRUN_TEST_DOCKER to a socket of your own)"
	exit 0
fi

stop() {
	local dir=$1
	[ -f "$dir/dockerd.pid" ] || return 0
	local pid
	pid=$(cat "$dir/dockerd.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$dir/dockerd.pid"
}
if [ "$mode" = stop ]; then
	stop /run/zrun-docker-srv
	stop /run/zrun-docker
	ip netns del zrun-srv 2>/dev/null || true
	exit 0
fi

if ! command -v dockerd >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables 3>&-
fi

# answers SOCKET: the engine behind SOCKET answers a ping.
answers() {
	curl -sf --max-time 2 --unix-socket "$1" http://docker/_ping >/dev/null 2>&1
}

# start DIR [nsenter args...]: dockerd with everything of its own under DIR
# (and /var/lib/zrun-docker*: overlay2 needs a real file system, not tmpfs).
start() {
	local dir=$1 name
	shift
	name=$(basename "$dir")
	local sock=$dir/docker.sock
	if answers "$sock"; then echo "$sock" >&3; return 0; fi
	mkdir -p "$dir" "/var/lib/$name"
	# A daemon: it must not inherit fd 3, the caller's $(...) pipe.
	# --insecure-registry: the tests' registry (plain HTTP) on the server's
	# link, 10.251.0.1, which both engines reach (127.0.0.0/8 is already).
	"$@" dockerd --host "unix://$sock" --data-root "/var/lib/$name" --exec-root "$dir/exec" \
		--insecure-registry 10.251.0.0/24 \
		--pidfile "$dir/dockerd.pid" --containerd-namespace "$name" --containerd-plugins-namespace "$name-p" \
		>"$dir/dockerd.log" 2>&1 3>&- </dev/null &
	for _ in $(seq 150); do answers "$sock" && { echo "$sock" >&3; return 0; }; sleep 0.2; done
	echo "dockerd did not start in 30 s; its log ($dir/dockerd.log):"
	tail -30 "$dir/dockerd.log"
	exit 1
}

case $mode in
local)
	if answers /var/run/docker.sock; then echo /var/run/docker.sock >&3; exit 0; fi
	start /run/zrun-docker
	;;
server)
	if ! ip netns list | grep -qw zrun-srv; then
		ip netns add zrun-srv
		ip link add zrun-srv0 type veth peer name zrun-srv1
		ip link set zrun-srv1 netns zrun-srv
		ip addr add 10.251.0.1/24 dev zrun-srv0
		ip link set zrun-srv0 up
		ip netns exec zrun-srv ip addr add 10.251.0.2/24 dev zrun-srv1
		ip netns exec zrun-srv ip link set zrun-srv1 up
		ip netns exec zrun-srv ip link set lo up
	fi
	# nsenter, not `ip netns exec`, which remounts /sys ("Devices cgroup
	# isn't mounted").
	start /run/zrun-docker-srv nsenter --net=/var/run/netns/zrun-srv
	;;
*)
	echo "usage: docker.sh [local|server|stop]"
	exit 2
	;;
esac
