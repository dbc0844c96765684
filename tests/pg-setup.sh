#!/usr/bin/env bash
# Prepares a local PostgreSQL for tavern's tests on Debian (run as root, safe to run again):
# installs and starts it, creates role and database "tavern", and prints the URL as the last
# line of stdout, everything else on stderr. Use: export TAVERN_TEST_PG=$(bash tests/pg-setup.sh)
set -euo pipefail

exec 3>&1 1>&2 # fd 3 is the caller's stdout, kept for the URL alone
export DEBIAN_FRONTEND=noninteractive
say() { echo "pg-setup: $*"; }

[ "$(id -u)" -eq 0 ] || { say "must run as root"; exit 1; }

# The newest installed server version (e.g. "15"), empty when there is none.
server_version() {
    for d in /usr/lib/postgresql/*/bin/postgres; do
        [ -x "$d" ] && basename "$(dirname "$(dirname "$d")")"
    done | sort -n | tail -n 1
}

# The server outlives this script, and it would inherit every open descriptor: a caller's
# pipe (the $(...) reading our URL, a CI log) would then never see end-of-file and wait
# forever. So it starts with only stdin/stdout/stderr, all pointing away from the caller.
start_cluster() (
    for fd in /proc/self/fd/*; do
        n=${fd##*/}
        [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null
    done
    if [ $# -gt 0 ]; then
        exec pg_ctlcluster "$1" main start </dev/null >/dev/null 2>&1
    fi
    exec service postgresql start </dev/null >/dev/null 2>&1
)

ver=$(server_version)
if [ -z "$ver" ] || ! command -v pg_ctlcluster >/dev/null; then
    say "installing postgresql"
    apt-get update -q
    apt-get install -y -q postgresql
    ver=$(server_version)
fi
[ -n "$ver" ] || { say "no PostgreSQL server found after install"; exit 1; }

# The package makes a "main" cluster unless createcluster.conf says not to.
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
    say "creating cluster $ver/main"
    pg_createcluster "$ver" main
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print $3 }')
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" && $4 ~ /^online/ { f = 1 } END { exit !f }'; then
    say "starting cluster $ver/main on port $port"
    start_cluster "$ver" || { say "pg_ctlcluster failed, trying the service"; start_cluster; }
fi

for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { say "server does not accept connections on $port"; exit 1; }

cd /tmp # psql as postgres warns when it cannot enter root's home
as_postgres() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAtX "$@"; }

# ALTER on every run so a role left by an earlier setup ends up with the same rights.
as_postgres <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tavern') THEN
        CREATE ROLE tavern;
    END IF;
END
$$;
ALTER ROLE tavern LOGIN CREATEDB PASSWORD 'tavern';
SQL
if [ -z "$(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = 'tavern'")" ]; then
    say "creating database tavern"
    as_postgres -c "CREATE DATABASE tavern OWNER tavern"
fi

url="postgres://tavern:tavern@127.0.0.1:$port/tavern"
PGCONNECT_TIMEOUT=5 psql "$url" -qAtX -c 'SELECT 1' >/dev/null ||
    { say "cannot log in as tavern over TCP (check pg_hba.conf)"; exit 1; }
say "ready"
echo "$url" >&3
