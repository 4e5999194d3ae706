#!/usr/bin/env bash
# bench/backup.sh [ROUNDS] [SCALE]: zrun's backup and restore of a database
# of at least 1 GB against the deployment guide's scripts, side by side in
# the same run (interleaved rounds, medians), to a local-folder remote:
#
#   backup:  zrun workflow backup (drill off: a restore is measured below)
#            vs the guide's `pg_dump > f.sql; gzip f.sql; rclone copy`,
#            and vs `pg_dump -Fc -Z0 > /dev/null`, the dump alone (what
#            PostgreSQL itself allows);
#   restore: zrun workflow restore (swap off: into a new database beside the
#            live one) vs the guide's `gunzip f.sql.gz; psql < f.sql` into a
#            new database.
#
# Also: the peak RSS of every zrun process (sampled from /proc), the sizes
# of zrun's and gzip's backups, and that no temporary file was written.
# The database is pgbench's tables (scale SCALE, default 50: about 750 MB)
# plus a table of random base64 text (300 MB) that compresses poorly. Needs
# root (PostgreSQL via testdata/postgres.sh) and rclone (installed if
# missing). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
scale=${2:-50}
. bench/lib.sh

dsn=${ZRUN_TEST_POSTGRES:-$(bash testdata/postgres.sh)}
command -v rclone >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone >/dev/null; }
make -s build >/dev/null
zrun=$PWD/bin/zrun
db=zrun_bench_backup
export PGPASSWORD=postgres PGHOST=127.0.0.1 PGUSER=postgres
work=$(mktemp -d /var/tmp/zrun-bench-backup.XXXXXX)
trap 'rm -rf "$work"; psql -qAtc "DROP DATABASE IF EXISTS ${db}_guide WITH (FORCE)" postgres >/dev/null 2>&1 || true' EXIT

if [ "$(psql -qAtc "SELECT count(*) FROM pg_database WHERE datname = '$db'" postgres)" = 0 ]; then
	echo "creating $db (pgbench scale $scale and 300 MB of random text)..." >&2
	psql -qc "CREATE DATABASE $db" postgres
	pgbench -q -i -s "$scale" "$db" >/dev/null 2>&1
	psql -q "$db" <<-'SQL'
		CREATE EXTENSION IF NOT EXISTS pgcrypto;
		CREATE TABLE noise AS SELECT g AS id, encode(gen_random_bytes(750), 'base64') AS body FROM generate_series(1, 300000) g;
		-- the drill's and the restore's sanity checks look for these
		CREATE TABLE users AS SELECT g AS id FROM generate_series(1, 10) g;
		CREATE TABLE tenders AS SELECT g AS id FROM generate_series(1, 10) g;
	SQL
fi
size=$(psql -qAtc "SELECT pg_database_size('$db')" postgres)

# The shipped project, its dev environment pointed at the bench database.
proj=$work/project
mkdir -p "$proj"
cp -r workflows environments zrun.hcl "$proj"/
mkdir -p "$proj/testdata" && cp -r testdata/stack "$proj/testdata/"
export ZAKUPAI_DB_NAME=$db ZAKUPAI_DB_USER=postgres ZAKUPAI_BACKUP_DIR=$work/zrun-remote
mkdir -p "$ZAKUPAI_BACKUP_DIR" "$work/guide-remote" "$work/guide"
# dev's db_password comes from .env.dev; the bench's server is postgres'.
sed -i 's/^DB_PASSWORD=.*/DB_PASSWORD=postgres/' "$proj/testdata/stack/.env.dev"

# Every zrun process's peak RSS, sampled while the commands run.
hwm=$work/hwm
sample() {
	while :; do
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/exe" 2>/dev/null)" = "$zrun" ] || continue
			awk '/^VmHWM:/ { print $2 }' "$p/status" 2>/dev/null
		done
		sleep 0.1
	done >>"$hwm"
}
sample &
sampler=$!
trap 'kill $sampler 2>/dev/null; rm -rf "$work"; psql -qAtc "DROP DATABASE IF EXISTS ${db}_guide WITH (FORCE)" postgres >/dev/null 2>&1 || true' EXIT

clean() {
	rm -rf "$ZAKUPAI_BACKUP_DIR"/* "$work"/guide-remote/* "$work"/guide/*
	psql -qAtc "DROP DATABASE IF EXISTS ${db}_guide WITH (FORCE)" postgres >/dev/null 2>&1
	for d in $(psql -qAtc "SELECT datname FROM pg_database WHERE datname LIKE '${db}\\_restore\\_%' OR datname LIKE '${db}\\_drill\\_%'" postgres); do
		psql -qAtc "DROP DATABASE $d WITH (FORCE)" postgres >/dev/null
	done
	sync
}
before_each() { clean; }

guide_backup="pg_dump -d $db > $work/guide/f.sql && gzip $work/guide/f.sql && rclone copy $work/guide/f.sql.gz $work/guide-remote/"
zrun_backup="cd $proj && $zrun workflow backup --env dev --param drill=false"
echo "Median of $repeats interleaved rounds, wall ms. $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(load) on $(nproc) cores; database $((size / 1000000)) MB."
echo
interleave zrun "$zrun_backup" guide "$guide_backup" dump "pg_dump -Fc -Z0 -d $db > /dev/null"
echo "| backup | zrun | guide's script | pg_dump -Fc -Z0 > /dev/null | zrun/guide | zrun/dump |"
echo "|---|---|---|---|---|---|"
echo "| wall ms | ${med[zrun]} | ${med[guide]} | ${med[dump]} | $(ratio "${med[zrun]}" "${med[guide]}") | $(ratio "${med[zrun]}" "${med[dump]}") |"
echo "| CPU ms | ${cpu[zrun]} | ${cpu[guide]} | ${cpu[dump]} | $(ratio "${cpu[zrun]}" "${cpu[guide]}") | $(ratio "${cpu[zrun]}" "${cpu[dump]}") |"

# One of each kept, for the sizes and the restores.
clean
eval "$zrun_backup" >/dev/null
eval "$guide_backup"
zsize=$(find "$ZAKUPAI_BACKUP_DIR" -name '*.age' -printf '%s\n')
gsize=$(stat -c %s "$work/guide-remote/f.sql.gz")
tmpfiles=$(find "$ZAKUPAI_BACKUP_DIR" -name '.*' | wc -l)
echo
echo "Stored: zrun $((zsize / 1000000)) MB (custom format, zstd, age), the guide's $((gsize / 1000000)) MB (plain SQL, gzip -6): $(ratio "$zsize" "$gsize")x. Temporary files left in zrun's remote: $tmpfiles."

keep=$work/keep && mkdir -p "$keep" && cp -a "$ZAKUPAI_BACKUP_DIR"/. "$keep"/ && cp "$work/guide-remote/f.sql.gz" "$keep/"
restore_each() {
	clean
	cp -a "$keep"/. "$ZAKUPAI_BACKUP_DIR"/ && rm -f "$ZAKUPAI_BACKUP_DIR/f.sql.gz"
	cp "$keep/f.sql.gz" "$work/guide-remote/"
	sync
}
before_each() { restore_each; }
guide_restore="rclone copy $work/guide-remote/f.sql.gz $work/guide/ && gunzip $work/guide/f.sql.gz && createdb ${db}_guide && psql -q -d ${db}_guide < $work/guide/f.sql"
zrun_restore="cd $proj && $zrun workflow restore --env dev --param swap=false"
interleave zrun "$zrun_restore" guide "$guide_restore"
echo
echo "| restore | zrun | guide's script | zrun/guide |"
echo "|---|---|---|---|"
echo "| wall ms | ${med[zrun]} | ${med[guide]} | $(ratio "${med[zrun]}" "${med[guide]}") |"
echo "| CPU ms | ${cpu[zrun]} | ${cpu[guide]} | $(ratio "${cpu[zrun]}" "${cpu[guide]}") |"
kill $sampler 2>/dev/null || true
echo
echo "Peak RSS of any zrun process (zrun or a plugin) over the whole run: $(( $(sort -n "$hwm" | tail -1) / 1024 )) MiB (goal < 200)."
echo "load average after: $(load)"
