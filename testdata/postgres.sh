#!/usr/bin/env bash
# Installs (if missing) and starts the machine's PostgreSQL 15 for the
# ledger's tests, creates the zrun_test database, and prints its DSN on
# stdout; everything else goes to stderr. Idempotent; needs root. Used by
# `make test` and .ci/run (see engine/state/pgstore/CI-SETUP.md).
set -euo pipefail
exec 3>&1 1>&2
if [ "$(id -u)" != 0 ]; then
	echo "postgres.sh: not root; the PostgreSQL ledger tests will skip (set ZRUN_TEST_POSTGRES to use your own server)"
	exit 0
fi
if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 3>&-
fi
pg_lsclusters -h | grep -q '^15 main ' || pg_createcluster 15 main
# The server is a daemon: it must not inherit fd 3, the caller's $(...) pipe,
# or the caller waits for it to exit.
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start 3>&-
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
pg_isready -h 127.0.0.1 -p 5432
runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'"
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'zrun_test'" | grep -q 1 \
	|| runuser -u postgres -- createdb zrun_test
echo 'postgres://postgres:postgres@127.0.0.1:5432/zrun_test' >&3
