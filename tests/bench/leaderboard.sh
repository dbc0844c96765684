#!/usr/bin/env bash
# The leaderboard bench (run by hand, never in CI): a board of LB_RECORDS (default 1,000,000)
# records seeded by one bulk SQL insert, then a restart so the start-up load of the rank cache
# is timed; then HTTP writes (POST /v2/leaderboard/{id}, incr, LB_USERS users) and HTTP
# around-owner reads with wrk; on SQLite and, when TAVERN_TEST_PG is set, PostgreSQL. Also runs
# the in-process rank bench (lbrank). Prints one table.
#
# Use:  bash tests/bench/leaderboard.sh
# Env:  BENCH_BUILD_DIR (default build-bench), TAVERN_BIN and LBRANK_BIN to use existing
#       binaries, LB_RECORDS, LB_USERS (64), BENCH_DURATION (10), BENCH_THREADS (2),
#       BENCH_CONNECTIONS (32), TAVERN_TEST_PG, BENCH_ARGS (extra tavern flags)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
records=${LB_RECORDS:-1000000}
users=${LB_USERS:-64}
duration=${BENCH_DURATION:-10}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-32}
say() { echo "lbbench: $*" >&2; }
die() { say "$*"; exit 1; }
for c in wrk curl sqlite3; do command -v $c >/dev/null || die "$c is not installed"; done

if [ -n "${TAVERN_BIN:-}" ]; then
    bin=$TAVERN_BIN
    lbrank=${LBRANK_BIN:-$(dirname "$(dirname "$bin")")/tests/bench/lbrank}
else
    build=${BENCH_BUILD_DIR:-$root/build-bench}
    if [ ! -f "$build/build.ninja" ]; then
        say "configuring a release build in $build"
        meson setup "$build" "$root" --buildtype=release -Db_ndebug=true >&2
    fi
    ninja -C "$build" server/tavern tests/bench/lbrank >&2
    bin=$build/server/tavern
    lbrank=$build/tests/bench/lbrank
fi

work=$(mktemp -d /tmp/tavern-lbbench.XXXXXX)
pid=
pgdb=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    if [ -n "$pgdb" ]; then
        psql "$TAVERN_TEST_PG" -qAtX -c "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server DBURL NAME DATADIR: sets pid, api, con (host:port) and ready_ms (spawn to ready
# line). The data dir holds the session key: keep it across a restart so tokens stay valid.
start_server() {
    local log=$work/$2.log t0
    mkdir -p "$work/$3"
    : >"$log"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    "$bin" --address 127.0.0.1 --port 0 --console-port 0 --data-dir "$work/$3" --db "$1" \
        ${BENCH_ARGS:-} 2>>"$log" &
    pid=$!
    api=
    for _ in $(seq 1 1200); do # up to 60 s: the load of a large board
        api=$(sed -n 's/.*ready api=\([^ ]*\) .*/\1/p' "$log" | head -n 1)
        [ -n "$api" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "tavern exited during start-up"; }
        sleep 0.05
    done
    [ -n "$api" ] || die "no ready line within 60 s"
    ready_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    con=$(sed -n 's/.*ready api=[^ ]* console=\([^ ]*\) .*/\1/p' "$log" | head -n 1)
}

stop_server() {
    kill -TERM "$pid"
    wait "$pid" || say "warning: tavern exited with $?"
    pid=
}

json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

run_wrk() { # NAME URL [args]: prints "rps p50 p99 errors"
    local out=$work/$1.wrk url=$2
    shift 2
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    local rps p50 p99 bad
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    echo "${rps:-0} ${p50:-?} ${p99:-?} ${bad:-0}"
}

seed_sql_sqlite="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $records)
INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore, num_score,
  max_num_score, metadata, create_time, update_time, expiry_time)
SELECT 'bench', printf('%08x-0000-4000-8000-%012x', x, x), 'u' || x, abs(random()) % 1000000,
  x % 100, 1, 0, '{}', 1, 1, 0 FROM c;"
seed_sql_pg="INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore,
  num_score, max_num_score, metadata, create_time, update_time, expiry_time)
SELECT 'bench', (lpad(to_hex(x), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(x), 12, '0'))::uuid,
  'u' || x, floor(random() * 1000000)::bigint, x % 100, 1, 0, '{}', 1, 1, 0
FROM generate_series(1, $records) AS x;"

results=()
bench_db() { # LABEL DBURL SEED-COMMAND...
    local label=$1 url=$2
    shift 2
    say "== $label: empty start, board, $users users"
    start_server "$url" "$label-1" "$label"
    local ct
    ct=$(curl -fsS -X POST -d '{"username":"admin","password":"password"}' "http://$con/v2/console/authenticate" | json_field token)
    curl -fsS -X POST -H "Authorization: Bearer $ct" -d '{"id":"bench","operator":"incr"}' \
        "http://$con/v2/console/leaderboard" >/dev/null || die "board creation failed"
    local tokens=() uids=() s
    for i in $(seq 1 "$users"); do
        s=$(curl -fsS -X POST -u defaultkey: -d "{\"id\":\"lbbench-device-$i-$$\"}" \
            "http://$api/v2/account/authenticate/device")
        tokens+=("$(printf '%s' "$s" | json_field token)")
    done
    stop_server
    say "seeding $records records"
    local t0=$(date +%s%N)
    "$@"
    local seed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    say "restart: load of the rank cache"
    start_server "$url" "$label-2" "$label"
    local load_ms
    load_ms=$(sed -n 's/.*ranked records in \([0-9]*\) ms.*/\1/p' "$work/$label-2.log" | head -n 1)
    {
        echo 'local tokens = {'
        for t in "${tokens[@]}"; do echo "  \"$t\","; done
        echo '}'
        echo 'local n = 0'
        echo 'wrk.method = "POST"'
        echo 'wrk.body = "{\"score\":1,\"subscore\":1}"'
        echo 'wrk.headers["Content-Type"] = "application/json"'
        echo 'request = function()'
        echo '  n = n + 1'
        echo '  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[n % #tokens + 1]})'
        echo 'end'
    } >"$work/write.lua"
    curl -fsS -X POST -H "Authorization: Bearer ${tokens[0]}" -d '{"score":1}' \
        "http://$api/v2/leaderboard/bench" >/dev/null || die "a write failed"
    say "POST /v2/leaderboard/bench (incr, $users owners), ${duration}s"
    local w r
    w=$(run_wrk "$label-write" "http://$api/v2/leaderboard/bench" -s "$work/write.lua")
    local owner uid
    uid=$(printf '%s' "${tokens[0]}" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | json_field uid || true)
    owner=${uid:-00000001-0000-4000-8000-000000000001}
    say "GET /v2/leaderboard/bench/owner/$owner?limit=10, ${duration}s"
    r=$(run_wrk "$label-around" "http://$api/v2/leaderboard/bench/owner/$owner?limit=10" \
        -H "Authorization: Bearer ${tokens[0]}")
    local rss
    rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    stop_server
    results+=("$label $seed_ms ${load_ms:-?} $ready_ms $((rss / 1024)) write $w" "$label - - - - around $r")
}

bench_db sqlite "sqlite://$work/sqlite.db" sqlite3 "$work/sqlite.db" "$seed_sql_sqlite"
if [ -n "${TAVERN_TEST_PG:-}" ]; then
    pgdb="tavern_lbbench_$(date +%s)_$$"
    psql "$TAVERN_TEST_PG" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pgdb\"" >/dev/null
    pgurl=$(printf '%s' "$TAVERN_TEST_PG" | sed -E "s#/[^/?]*(\?.*)?\$#/$pgdb\1#")
    bench_db postgres "$pgurl" psql "$pgurl" -qAtX -v ON_ERROR_STOP=1 -c "$seed_sql_pg"
else
    say "TAVERN_TEST_PG is unset: PostgreSQL skipped"
fi

echo
echo "in-process rank structure ($records records):"
"$lbrank" "$records"
echo
echo "$("$bin" --version 2>&1 | head -n 1) | $(nproc) CPUs | $records records | wrk -t$threads -c$conns -d${duration}s"
printf '%-9s %8s %8s %9s %8s %-7s %10s %9s %9s %7s\n' db "seed ms" "load ms" "ready ms" "RSS MiB" run "req/s" p50 p99 errors
for r in "${results[@]}"; do
    # shellcheck disable=SC2086
    set -- $r
    printf '%-9s %8s %8s %9s %8s %-7s %10s %9s %9s %7s\n' "$@"
done
