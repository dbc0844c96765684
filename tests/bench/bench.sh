#!/usr/bin/env bash
# Loopback throughput of a release build of tavern, measured with wrk (run on demand, not in CI):
# POST /v2/account/authenticate/device for an existing device, and GET /v2/account with a
# Bearer token, on SQLite and, when TAVERN_TEST_PG is set, on PostgreSQL. Prints requests/s,
# latency, errors and the server's peak RSS (VmHWM) per database.
#
# Use:  bash tests/bench/bench.sh
# Env:  TAVERN_BIN       use this binary instead of building one in $BENCH_BUILD_DIR
#       BENCH_BUILD_DIR  release build directory (default build-bench at the repo root)
#       TAVERN_TEST_PG   postgres:// URL; a scratch database is made and dropped there
#       BENCH_DURATION   seconds per run (default 10)   BENCH_THREADS (2)   BENCH_CONNECTIONS (64)
#       BENCH_ARGS       extra tavern flags, e.g. "--workers 16 --db-pool 16"
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
duration=${BENCH_DURATION:-10}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=ready.sh
. "$root/tests/bench/ready.sh"

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed"

if [ -n "${TAVERN_BIN:-}" ]; then
    bin=$TAVERN_BIN
else
    build=${BENCH_BUILD_DIR:-$root/build-bench}
    if [ ! -f "$build/build.ninja" ]; then
        say "configuring a release build in $build"
        meson setup "$build" "$root" --buildtype=release -Db_ndebug=true >&2
    fi
    say "building $build"
    ninja -C "$build" server/tavern >&2
    bin=$build/server/tavern
fi
[ -x "$bin" ] || die "no tavern binary at $bin"

work=$(mktemp -d /tmp/tavern-bench.XXXXXX)
pid=
pgdb=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ -n "$pgdb" ]; then
        psql "$TAVERN_TEST_PG" -qAtX -c "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server DB_URL NAME: starts tavern, sets $pid and $api (host:port).
start_server() {
    local dburl=$1 name=$2 log=$work/$2.log
    mkdir -p "$work/$name"
    # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
    "$bin" --address 127.0.0.1 --port 0 --console-port 0 --data-dir "$work/$name" --db "$dburl" \
        ${BENCH_ARGS:-} 2>"$log" &
    pid=$!
    api=$(wait_ready "$log" "$pid") || exit 1
}

stop_server() {
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    [ "$rc" -eq 0 ] || say "warning: tavern exited with status $rc"
}

# run_wrk NAME URL [wrk args...]: prints "rps p50 p99 errors" for one run.
run_wrk() {
    local name=$1 url=$2 out=$work/$1.wrk
    shift 2
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    cat "$out" >&2
    local rps p50 p99 non2xx sockerr
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    sockerr=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$out")
    echo "${rps:-0} ${p50:-?} ${p99:-?} $(( ${non2xx:-0} + ${sockerr:-0} ))"
}

basic="Basic $(printf 'defaultkey:' | base64)"
results=()

bench_db() {
    local label=$1 dburl=$2
    say "== $label"
    start_server "$dburl" "$label"
    local device
    device="bench-device-$(date +%s)-$$"
    local body="{\"id\":\"$device\"}"
    local auth
    auth=$(curl -fsS -X POST -H "Authorization: $basic" -H 'Content-Type: application/json' \
        -d "$body" "http://$api/v2/account/authenticate/device") || die "sign-up failed"
    local token
    token=$(printf '%s' "$auth" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || die "no token in $auth"
    curl -fsS -H "Authorization: Bearer $token" "http://$api/v2/account" >/dev/null || die "GET /v2/account failed"

    cat >"$work/auth.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "$basic"
EOF
    say "POST /v2/account/authenticate/device (existing device), ${duration}s, $threads threads, $conns connections"
    local a g
    a=$(run_wrk "$label-auth" "http://$api/v2/account/authenticate/device" -s "$work/auth.lua")
    say "GET /v2/account, ${duration}s, $threads threads, $conns connections"
    g=$(run_wrk "$label-account" "http://$api/v2/account" -H "Authorization: Bearer $token")
    local rss
    rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    stop_server
    results+=("$label auth/device $a $rss" "$label GET/account $g $rss")
}

bench_db sqlite "sqlite://$work/sqlite.db"

if [ -n "${TAVERN_TEST_PG:-}" ]; then
    command -v psql >/dev/null || die "psql is needed for the PostgreSQL run"
    pgdb="tavern_bench_$(date +%s)_$$"
    psql "$TAVERN_TEST_PG" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pgdb\"" >/dev/null ||
        die "cannot create database $pgdb at $TAVERN_TEST_PG"
    pgurl=$(printf '%s' "$TAVERN_TEST_PG" | sed -E "s#/[^/?]*(\?.*)?\$#/$pgdb\1#")
    bench_db postgres "$pgurl"
else
    say "TAVERN_TEST_PG is unset: PostgreSQL skipped"
fi

echo
echo "$("$bin" --version 2>&1 | head -n 1) | $(nproc) CPUs | wrk -t$threads -c$conns -d${duration}s on loopback"
printf '%-9s %-13s %12s %10s %10s %8s %14s\n' db endpoint "requests/s" "p50" "p99" errors "peak RSS (MiB)"
printf '%-9s %-13s %12s %10s %10s %8s %14s\n' --------- ------------- ------------ ---------- ---------- -------- --------------
for r in "${results[@]}"; do
    # shellcheck disable=SC2086 # fields are space-separated on purpose
    set -- $r
    printf '%-9s %-13s %12s %10s %10s %8s %14.1f\n' "$1" "$2" "$3" "$4" "$5" "$6" "$(awk -v k="$7" 'BEGIN { print k / 1024 }')"
done
