#!/usr/bin/env bash
# Benchmarks of issue 8, each side by side with its baselines in one run:
#   1. the same command on 20 hosts: zrun (ssh.run on a group, parallel 20)
#      vs Ansible (ad-hoc shell module, forks=20) vs a bash loop of ssh in
#      the background (goals: zrun >= 5x faster than Ansible, no slower
#      than the loop);
#   2. upload of a 1 GiB file to one host: zrun (ssh.upload) vs scp vs
#      rsync over the same sshd (goal: within 1.1x of scp). zrun's upload
#      is atomic and durable (temp file, fsync, rename), scp's neither:
#      scp followed by sync(1) of the file is shown too.
# The hosts are 20 OpenSSH servers on 127.0.0.2-21 (bench/sshd.sh).
# Usage: bash bench/hosts.sh [ROUNDS]   (default 5; needs bin/zrun, sshd,
# ansible: `make build`, `apt-get install openssh-server ansible rsync`)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
zrun=$PWD/bin/zrun
work=$(mktemp -d)
trap 'bash bench/sshd.sh stop "$work/sshd"; rm -rf "$work"' EXIT
. bench/lib.sh
for tool in ansible scp rsync /usr/sbin/sshd; do
	command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install openssh-server ansible rsync" >&2; exit 1; }
done

n=20
bash bench/sshd.sh start "$work/sshd" "$n"
key=$work/sshd/id_ed25519 kh=$work/sshd/known_hosts
mapfile -t servers <"$work/sshd/ports"

proj=$work/project
mkdir -p "$proj/workflows" "$proj/environments"
{
	echo 'environment "bench" {'
	for i in "${!servers[@]}"; do
		read -r addr port <<<"${servers[$i]}"
		cat <<HOST
  host "h$i" {
    address          = "$addr"
    port             = $port
    user             = "$(id -un)"
    private_key_file = "$key"
    known_hosts_file = "$kh"
    agent            = false
    groups           = ["all"]
  }
HOST
	done
	echo '}'
} >"$proj/environments/bench.hcl"
cat >"$proj/workflows/bench.hcl" <<'HCL'
workflow "fanout" {
  step "uname" {
    action   = ssh.run
    target   = "all"
    parallel = 20
    command  = ["uname", "-n"]
  }
}

workflow "upload" {
  param "src" { type = string }
  step "up" {
    action = ssh.upload
    target = "h0"
    src    = param.src
    dest   = "/tmp/zrun-bench-upload"
  }
}

workflow "upload_nosync" {
  param "src" { type = string }
  step "up" {
    action = ssh.upload
    target = "h0"
    src    = param.src
    dest   = "/tmp/zrun-bench-upload"
    fsync  = false
  }
}
HCL

{
	echo '[all]'
	for i in "${!servers[@]}"; do
		read -r addr port <<<"${servers[$i]}"
		echo "h$i ansible_host=$addr ansible_port=$port"
	done
} >"$work/inventory"
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
ansible_ssh_args="-o UserKnownHostsFile=$kh -o IdentitiesOnly=yes"
ssh_opts=(-i "$key" -o UserKnownHostsFile="$kh" -o IdentitiesOnly=yes -o BatchMode=yes)

loop() {
	local s addr port
	for s in "${servers[@]}"; do
		read -r addr port <<<"$s"
		ssh "${ssh_opts[@]}" -p "$port" "$(id -un)@$addr" uname -n &
	done
	wait
}

echo "Median of $repeats interleaved rounds, wall ms. $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(load) on $(nproc) cores."
echo
echo "| the same command on $n hosts | wall (ms) | CPU (ms) | vs zrun |"
echo "|---|---|---|---|"
"$zrun" -C "$proj" workflow fanout --env bench --output json >/dev/null # the plugin answer cache, as a team's second run
interleave zrun "\"$zrun\" -C \"$proj\" workflow fanout --env bench --output json" \
	ansible "ansible all -i \"$work/inventory\" -f $n -u \"$(id -un)\" --private-key \"$key\" --ssh-common-args=\"$ansible_ssh_args\" -m shell -a 'uname -n'" \
	loop "loop"
echo "| zrun (ssh.run, parallel = $n) | ${med[zrun]} | ${cpu[zrun]} | 1.00 |"
echo "| Ansible $(ansible --version | head -1 | grep -o '[0-9][0-9.]*' | head -1) (shell, forks=$n) | ${med[ansible]} | ${cpu[ansible]} | $(ratio "${med[ansible]}" "${med[zrun]}") |"
echo "| bash loop of ssh & | ${med[loop]} | ${cpu[loop]} | $(ratio "${med[loop]}" "${med[zrun]}") |"

read -r addr port <<<"${servers[0]}"
head -c 1G /dev/urandom >"$work/big"
echo
echo "| upload of 1 GiB to one host | wall (ms) | CPU (ms) | zrun/this |"
echo "|---|---|---|---|"
# Each upload starts from the same disk: no destination to replace, and no
# dirty pages left by the one before it to compete with its writes.
before_each() {
	rm -f /tmp/zrun-bench-upload /tmp/scp-bench-upload /tmp/rsync-bench-upload
	sync
}
interleave zrun "\"$zrun\" -C \"$proj\" workflow upload --env bench --param src=$work/big --output json" \
	nosync "\"$zrun\" -C \"$proj\" workflow upload_nosync --env bench --param src=$work/big --output json" \
	scp "scp -q ${ssh_opts[*]} -P $port \"$work/big\" \"$(id -un)@$addr:/tmp/scp-bench-upload\"" \
	scpsync "scp -q ${ssh_opts[*]} -P $port \"$work/big\" \"$(id -un)@$addr:/tmp/scp-bench-upload\" && ssh ${ssh_opts[*]} -p $port \"$(id -un)@$addr\" sync /tmp/scp-bench-upload" \
	rsync "rsync -a --whole-file -e 'ssh ${ssh_opts[*]} -p $port' \"$work/big\" \"$(id -un)@$addr:/tmp/rsync-bench-upload\" && rm -f /tmp/rsync-bench-upload"
echo "| zrun (ssh.upload, SFTP) | ${med[zrun]} | ${cpu[zrun]} | 1.00 |"
echo "| zrun, fsync = false (atomic, not flushed: as scp) | ${med[nosync]} | ${cpu[nosync]} | $(ratio "${med[zrun]}" "${med[nosync]}") |"
echo "| scp | ${med[scp]} | ${cpu[scp]} | $(ratio "${med[zrun]}" "${med[scp]}") |"
echo "| zrun with fsync = false vs scp | | | $(ratio "${med[nosync]}" "${med[scp]}") |"
echo "| scp, then sync(1) of the file on the host (durable, as zrun's upload is) | ${med[scpsync]} | ${cpu[scpsync]} | $(ratio "${med[zrun]}" "${med[scpsync]}") |"
echo "| rsync | ${med[rsync]} | ${cpu[rsync]} | $(ratio "${med[zrun]}" "${med[rsync]}") |"
rm -f /tmp/zrun-bench-upload /tmp/scp-bench-upload /tmp/rsync-bench-upload
echo "load average after: $(load)"
