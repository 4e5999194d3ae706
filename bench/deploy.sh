#!/usr/bin/env bash
# Deploy of the example stack's eight containers, side by side in one run,
# interleaved, against the same Docker Engine, each tool on containers of
# its own (same image, env, network, healthcheck):
#   - zrun: docker.network + docker.container for each (health-gated: a
#     new container starts beside the old and must be healthy first);
#   - Ansible (Debian's 2.14, community.docker 3.4.7): docker_network +
#     docker_container in a loop (recreates in place; does not wait for
#     health: its docker_container has no such option);
#   - docker-compose 1.29 `up -d` (Debian's; recreates in place, in
#     parallel; does not wait for health), when installed.
# Two cases: no change (the same image again), and every container changed
# (the image alternates between two builds each round).
# Usage: bash bench/deploy.sh [ROUNDS]   (default 5; needs root for the
# engine (testdata/docker.sh), ansible and python3-docker; docker-compose
# optional: apt-get install ansible python3-docker docker-compose)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
. bench/lib.sh
for tool in ansible-playbook docker; do
	command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install ansible python3-docker (docker: the CLI)" >&2; exit 1; }
done
sock=${ZRUN_TEST_DOCKER:-$(timeout 600 bash testdata/docker.sh)}
export DOCKER_HOST=unix://$sock
work=$(mktemp -d)
names=(gateway calc-service risk-engine doc-service billing-service bot web db)
cleanup() {
	for prefix in zb-z zb-a zb-c; do
		docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f >/dev/null 2>&1 || true
	done
	docker network rm zb-z zb-a zb-c >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
make -s build
zrun=$PWD/bin/zrun

# Two builds of the example app's image that differ (a label).
(cd testdata/stack/app && CGO_ENABLED=0 GOWORK=off go build -trimpath -o "$work/app" .)
cp testdata/stack/app/Dockerfile "$work/Dockerfile"
for v in a b; do
	printf 'LABEL bench=%s\n' "$v" >>"$work/Dockerfile"
	docker build -q -t "zrun-bench/app:$v" "$work" >/dev/null
done

# zrun's project.
proj=$work/zrun
mkdir -p "$proj/workflows" "$proj/environments"
echo 'zrun { project = "deploybench" }' >"$proj/zrun.hcl"
echo 'environment "bench" {}' >"$proj/environments/bench.hcl"
{
	echo 'workflow "deploy" {'
	echo '  param "image" {}'
	echo '  step "network" {'
	echo '    action = docker.network'
	echo '    name   = "zb-z"'
	echo '  }'
	echo '  step "c" {'
	printf '    for_each   = toset([%s])\n' "$(printf '"%s",' "${names[@]}" | sed 's/,$//')"
	cat <<'HCL'
    action     = docker.container
    depends_on = [step.network]
    name       = "zb-z-${each.key}"
    image      = param.image
    env        = { SERVICE = each.key, LOG_LEVEL = "INFO" }
    networks   = { "zb-z" = [each.key] }
    restart    = "always"
    health_cmd      = ["CMD", "/app", "-check", "http://127.0.0.1:8080/health"]
    health_interval = "250ms"
    health_retries  = 3
  }
}
HCL
} >"$proj/workflows/deploy.hcl"

# Ansible's playbook: the same containers.
cat >"$work/playbook.yml" <<YAML
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - community.docker.docker_network:
        name: zb-a
        docker_host: unix://$sock
    - community.docker.docker_container:
        name: "zb-a-{{ item }}"
        image: "{{ image }}"
        docker_host: unix://$sock
        env:
          SERVICE: "{{ item }}"
          LOG_LEVEL: INFO
        networks:
          - name: zb-a
            aliases: ["{{ item }}"]
        networks_cli_compatible: true
        restart_policy: always
        healthcheck:
          test: ["CMD", "/app", "-check", "http://127.0.0.1:8080/health"]
          interval: 250ms
          retries: 3
        comparisons:
          image: strict
      loop: [$(printf '"%s",' "${names[@]}" | sed 's/,$//')]
YAML

# docker-compose's file: the same containers.
compose=$(command -v docker-compose || true)
{
	echo 'version: "3.8"'
	echo 'services:'
	for n in "${names[@]}"; do
		cat <<YAML
  $n:
    image: \${IMAGE}
    container_name: zb-c-$n
    environment: { SERVICE: $n, LOG_LEVEL: INFO }
    networks: { zb-c: { aliases: [$n] } }
    restart: always
    healthcheck:
      test: ["CMD", "/app", "-check", "http://127.0.0.1:8080/health"]
      interval: 250ms
      retries: 3
YAML
	done
	echo 'networks:'
	echo '  zb-c: { name: zb-c }'
} >"$work/docker-compose.yml"

export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
zrun_cmd() { echo "\"$zrun\" -C \"$proj\" workflow deploy --env bench --param image=$1 --output json"; }
ansible_cmd() { echo "ansible-playbook -i localhost, \"$work/playbook.yml\" -e image=$1"; }
compose_cmd() { echo "IMAGE=$1 \"$compose\" -p zbc -f \"$work/docker-compose.yml\" up -d"; }

# The first deploy of each, untimed (and the plugin answer cache, as a
# team's second run has it).
for t in zrun ansible compose; do
	[ "$t" = compose ] && [ -z "$compose" ] && continue
	eval "$(${t}_cmd zrun-bench/app:a)" >/dev/null 2>&1 || { echo "the first $t deploy failed" >&2; eval "$(${t}_cmd zrun-bench/app:a)"; exit 1; }
done

echo "Median of $repeats interleaved rounds, wall ms. $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(load) on $(nproc) cores; docker $(docker version -f '{{.Server.Version}}' 2>/dev/null)."
echo
echo "| deploy of 8 containers, no change | wall (ms) | CPU (ms) | vs zrun |"
echo "|---|---|---|---|"
args=(zrun "$(zrun_cmd zrun-bench/app:a)" ansible "$(ansible_cmd zrun-bench/app:a)")
[ -n "$compose" ] && args+=(compose "$(compose_cmd zrun-bench/app:a)")
interleave "${args[@]}"
echo "| zrun | ${med[zrun]} | ${cpu[zrun]} | 1.00 |"
echo "| Ansible | ${med[ansible]} | ${cpu[ansible]} | $(ratio "${med[ansible]}" "${med[zrun]}") |"
[ -n "$compose" ] && echo "| docker-compose | ${med[compose]} | ${cpu[compose]} | $(ratio "${med[compose]}" "${med[zrun]}") |"

# Every container changed: each command deploys the other image than the
# one its containers run (kept in a file: interleave runs each command in
# a subshell).
changed() {
	local t=$1 v
	v=$(cat "$work/cur-$t" 2>/dev/null || echo a)
	if [ "$v" = a ]; then v=b; else v=a; fi
	echo "$v" >"$work/cur-$t"
	eval "$(${t}_cmd "zrun-bench/app:$v")"
}
echo
echo "| deploy of 8 containers, every one changed | wall (ms) | CPU (ms) | vs zrun |"
echo "|---|---|---|---|"
args=(zrun "changed zrun" ansible "changed ansible")
[ -n "$compose" ] && args+=(compose "changed compose")
interleave "${args[@]}"
echo "| zrun (health-gated, beside the old) | ${med[zrun]} | ${cpu[zrun]} | 1.00 |"
echo "| Ansible (in place, not gated) | ${med[ansible]} | ${cpu[ansible]} | $(ratio "${med[ansible]}" "${med[zrun]}") |"
[ -n "$compose" ] && echo "| docker-compose (in place, not gated) | ${med[compose]} | ${cpu[compose]} | $(ratio "${med[compose]}" "${med[zrun]}") |"
echo "load average after: $(load)"
