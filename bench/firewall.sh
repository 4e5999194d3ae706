#!/usr/bin/env bash
# The guide's firewall (deny incoming, allow outgoing; allow 22, 80, 443;
# 9090 and 3001 only from the admin network; logging low; enabled) applied
# to a real ufw, side by side in one run, interleaved, each tool inside a
# network namespace of its own with its own copy of /etc/ufw (a mount
# namespace), so the host's firewall is never touched:
#   - zrun: the rule set of workflows/firewall.hcl through ufw.rules on the
#     local target (the smallest ordered difference, read back; the
#     confirmed apply's revert armed and cancelled around every change);
#   - Ansible (Debian's 2.14, community.general.ufw): one task per rule,
#     policy and the logging level, as a playbook for the guide would, and
#     one deleting each rule of the other set.
# Two cases: no change (the same rules again), and every rule changed (each
# round alternates between two sets: every port moved by 1000, and another
# admin network).
# Usage: bash bench/firewall.sh [ROUNDS]   (default 5; needs root, ufw and
# ansible: apt-get install ufw ansible)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
. bench/lib.sh
for tool in ansible-playbook ufw ip unshare; do
	command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install ufw ansible iproute2" >&2; exit 1; }
done
work=$(mktemp -d)
cleanup() {
	for who in zrun ansible; do ip netns del "zbfw-$who" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
make -s build
zrun=$PWD/bin/zrun

# Each tool's namespace and its own /etc/ufw (ufw's shipped, inactive
# rules) and /etc/default/ufw.
for who in zrun ansible; do
	ip netns add "zbfw-$who"
	ip netns exec "zbfw-$who" ip link set lo up
	d=$work/$who
	mkdir -p "$d"
	cp -a /etc/ufw "$d/ufw"
	cp /usr/share/ufw/iptables/user.rules /usr/share/ufw/iptables/user6.rules /usr/share/ufw/ufw.conf "$d/ufw/"
	cp /etc/default/ufw "$d/default-ufw"
done
# inns WHO CMD...: runs CMD in WHO's namespace with its ufw files in place.
inns() {
	local who=$1
	shift
	ip netns exec "zbfw-$who" unshare -m sh -c 'mount --bind "$1/ufw" /etc/ufw && mount --bind "$1/default-ufw" /etc/default/ufw && shift && exec "$@"' \
		sh "$work/$who" "$@"
}

# zrun's project: the shipped firewall workflow's rule set, every port
# moved by an offset and the admin network given, so that a round can
# change every rule.
proj=$work/project
mkdir -p "$proj/workflows" "$proj/environments"
echo 'zrun { project = "firewallbench" }' >"$proj/zrun.hcl"
echo 'environment "bench" {}' >"$proj/environments/bench.hcl"
cat >"$proj/workflows/firewall.hcl" <<'HCL'
workflow "firewall" {
  param "offset" { type = number }
  param "admin" { type = string }
  step "rules" {
    action   = ufw.rules
    defaults = { incoming = "deny", outgoing = "allow", routed = "deny" }
    logging  = "low"
    rules = [
      { action = "allow", port = 22 + param.offset, proto = "tcp", comment = "SSH" },
      { action = "allow", port = 80 + param.offset, proto = "tcp", comment = "HTTP" },
      { action = "allow", port = 443 + param.offset, proto = "tcp", comment = "HTTPS" },
      { action = "allow", port = 9090 + param.offset, from = param.admin, comment = "Prometheus (admin)" },
      { action = "allow", port = 3001 + param.offset, from = param.admin, comment = "Grafana (admin)" },
    ]
  }
}
HCL

# Ansible's playbook: the same, and the other set's rules deleted.
cat >"$work/play.yml" <<'YAML'
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - community.general.ufw: { rule: allow, port: "{{ 22 + offset|int }}", proto: tcp, comment: SSH }
    - community.general.ufw: { rule: allow, port: "{{ 80 + offset|int }}", proto: tcp, comment: HTTP }
    - community.general.ufw: { rule: allow, port: "{{ 443 + offset|int }}", proto: tcp, comment: HTTPS }
    - community.general.ufw: { rule: allow, port: "{{ 9090 + offset|int }}", from_ip: "{{ admin }}", comment: Prometheus (admin) }
    - community.general.ufw: { rule: allow, port: "{{ 3001 + offset|int }}", from_ip: "{{ admin }}", comment: Grafana (admin) }
    - community.general.ufw: { rule: allow, port: "{{ 22 + old_offset|int }}", proto: tcp, delete: true }
    - community.general.ufw: { rule: allow, port: "{{ 80 + old_offset|int }}", proto: tcp, delete: true }
    - community.general.ufw: { rule: allow, port: "{{ 443 + old_offset|int }}", proto: tcp, delete: true }
    - community.general.ufw: { rule: allow, port: "{{ 9090 + old_offset|int }}", from_ip: "{{ old_admin }}", delete: true }
    - community.general.ufw: { rule: allow, port: "{{ 3001 + old_offset|int }}", from_ip: "{{ old_admin }}", delete: true }
    - community.general.ufw: { default: deny, direction: incoming }
    - community.general.ufw: { default: allow, direction: outgoing }
    - community.general.ufw: { default: deny, direction: routed }
    - community.general.ufw: { logging: low }
    - community.general.ufw: { state: enabled }
YAML
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False

# The two sets: A (the guide's ports, admin 10.9.0.0/24) and B (every port
# moved by 1000, admin 10.8.0.0/24).
zrun_apply() { inns zrun "$zrun" -C "$proj" workflow firewall --env bench --param offset="$1" --param admin="$2"; }
ansible_apply() { inns ansible ansible-playbook -i localhost, "$work/play.yml" -e offset="$1" -e admin="$2" -e old_offset="$3" -e old_admin="$4"; }
zrun_apply 0 10.9.0.0/24 >/dev/null
ansible_apply 0 10.9.0.0/24 1000 10.8.0.0/24 >/dev/null
# Both end with the same firewall.
zs=$(inns zrun ufw status verbose | grep -vi "^status\|^$" | sort)
as=$(inns ansible ufw status verbose | grep -vi "^status\|^$" | sort)
[ "$(echo "$zs" | sed 's/ *#.*//')" = "$(echo "$as" | sed 's/ *#.*//')" ] || {
	echo "the two firewalls differ:"; diff <(echo "$zs") <(echo "$as") || true; exit 1; }

interleave "zrun, no change" "zrun_apply 0 10.9.0.0/24" "Ansible, no change" "ansible_apply 0 10.9.0.0/24 1000 10.8.0.0/24"
zn=${med["zrun, no change"]} an=${med["Ansible, no change"]}
# Every rule changed each round: B, then A, then B... for each tool.
interleave "zrun, all changed" 'zrun_apply $(alternate "$work/zrun.n" "1000 10.8.0.0/24" "0 10.9.0.0/24")' \
	"Ansible, all changed" 'ansible_apply $(alternate "$work/ansible.n" "1000 10.8.0.0/24 0 10.9.0.0/24" "0 10.9.0.0/24 1000 10.8.0.0/24")'
zc=${med["zrun, all changed"]} ac=${med["Ansible, all changed"]}

echo "firewall, $(date -u +%F' '%H:%M' UTC'), $repeats interleaved rounds, medians, load $(load):"
printf '  %-22s %6s ms   %-22s %6s ms   ratio %s\n' "zrun, no change" "$zn" "Ansible, no change" "$an" "$(ratio "$zn" "$an")"
printf '  %-22s %6s ms   %-22s %6s ms   ratio %s\n' "zrun, all changed" "$zc" "Ansible, all changed" "$ac" "$(ratio "$zc" "$ac")"
