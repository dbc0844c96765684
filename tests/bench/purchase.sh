#!/usr/bin/env bash
# The purchase bench (run by hand, never in CI): BENCH_BUYERS (100) users, each funded with
# plenty through tests/modules/wallet_mod.so, buy one unlimited item for BENCH_DURATION seconds,
# each on its own keep-alive connection with unique idempotency keys (purchload), on SQLite and,
# when TAVERN_TEST_PG is set, on a scratch PostgreSQL database. Prints purchases/s, latency, the
# share of non-200 answers (must be 0) and checks that the receipts equal the 200 answers.
#
# Use:  bash tests/bench/purchase.sh
#       TAVERN_TEST_PG=postgres://... bash tests/bench/purchase.sh     # and PostgreSQL
# Env:  BENCH_BUILD_DIR (default build-bench), TAVERN_BIN with PURCHLOAD_BIN and WALLET_MOD to
#       use existing binaries, BENCH_BUYERS (100), BENCH_DURATION (10), TAVERN_TEST_PG,
#       BENCH_ARGS (extra tavern flags, e.g. "--workers 16 --db-pool 16")
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
buyers=${BENCH_BUYERS:-100}
duration=${BENCH_DURATION:-10}
say() { echo "purchbench: $*" >&2; }
die() { say "$*"; exit 1; }
for c in curl sqlite3; do command -v $c >/dev/null || die "$c is not installed"; done
# shellcheck source=SCRIPTDIR/ready.sh
. "$root/tests/bench/ready.sh"

if [ -n "${TAVERN_BIN:-}" ]; then
    bin=$TAVERN_BIN
    bdir=$(dirname "$(dirname "$bin")")
    purchload=${PURCHLOAD_BIN:-$bdir/tests/bench/purchload}
    walletmod=${WALLET_MOD:-$bdir/tests/modules/wallet_mod.so}
else
    build=${BENCH_BUILD_DIR:-$root/build-bench}
    if [ ! -f "$build/build.ninja" ]; then
        say "configuring a release build in $build"
        meson setup "$build" "$root" --buildtype=release -Db_ndebug=true >&2
    fi
    ninja -C "$build" server/tavern tests/bench/purchload tests/modules/wallet_mod.so >&2
    bin=$build/server/tavern
    purchload=$build/tests/bench/purchload
    walletmod=$build/tests/modules/wallet_mod.so
fi
for f in "$bin" "$purchload"; do [ -x "$f" ] || die "no binary at $f"; done
[ -f "$walletmod" ] || die "no wallet module at $walletmod"

work=$(mktemp -d /tmp/tavern-purchbench.XXXXXX)
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
mkdir -p "$work/modules"
cp "$walletmod" "$work/modules/"

# start_server DBURL NAME: sets pid, api and con (host:port)
start_server() {
    local log=$work/$2.log
    mkdir -p "$work/$2"
    # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
    "$bin" --address 127.0.0.1 --port 0 --console-port 0 --data-dir "$work/$2" --db "$1" \
        --module-path "$work/modules" ${BENCH_ARGS:-} 2>"$log" &
    pid=$!
    api=$(wait_ready "$log" "$pid") || exit 1
    con=$(sed -n 's/.*ready api=[^ ]* console=\([^ ]*\) .*/\1/p' "$log" | head -n 1)
}

stop_server() {
    kill -TERM "$pid"
    wait "$pid" || say "warning: tavern exited with $?"
    pid=
}

json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; } # the first one
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
box_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; } # busy idle

results=()
failed=0
bench_db() { # LABEL DBURL COUNT-COMMAND...
    local label=$1 url=$2
    shift 2
    say "== $label: $buyers buyers, funded, one unlimited item"
    start_server "$url" "$label"
    local ct
    ct=$(curl -fsS -X POST -d '{"username":"admin","password":"password"}' "http://$con/v2/console/authenticate" | json_field token)
    curl -fsS -X PUT -H "Authorization: Bearer $ct" "http://$con/v2/console/shop/bench-potion" \
        -d '{"name":"Potion","price":{"coins":1},"grants":{"items":{"potion":1}}}' >/dev/null ||
        die "item creation failed"
    local tokens=$work/$label.tokens updates='' s tok uid
    : >"$tokens"
    for i in $(seq 1 "$buyers"); do
        s=$(curl -fsS -X POST -u defaultkey: -d "{\"id\":\"purchbench-device-$i-$$\"}" \
            "http://$api/v2/account/authenticate/device?create=true")
        tok=$(printf '%s' "$s" | json_field token)
        uid=$(curl -fsS -H "Authorization: Bearer $tok" "http://$api/v2/account" | json_field id)
        if [ -z "$tok" ] || [ -z "$uid" ]; then die "sign-up $i failed: $s"; fi
        echo "$tok" >>"$tokens"
        updates+="${updates:+,}{\"user_id\":\"$uid\",\"changeset\":{\"coins\":1000000000}}"
    done
    curl -fsS -X POST -u defaulthttpkey: -H 'Content-Type: text/plain' -d "[$updates]" \
        "http://$api/v2/rpc/wallet_update?unwrap" >/dev/null || die "funding failed"
    curl -fsS -X POST -H "Authorization: Bearer $(head -n 1 "$tokens")" \
        -d '{"item_id":"bench-potion","idempotency_key":"warm-up"}' "http://$api/v2/shop/purchase" \
        >/dev/null || die "a purchase failed"
    local load c0 c1 b0 b1 out
    load=$(cut -d' ' -f1 /proc/loadavg)
    say "POST /v2/shop/purchase, $buyers connections, ${duration}s (load before: $load)"
    c0=$(cpu_ticks "$pid")
    b0=$(box_ticks)
    out=$("$purchload" -f "$tokens" -h "${api%:*}" -P "${api##*:}" -d "$duration" \
        -i bench-potion -k "b$$") || die "purchload failed"
    c1=$(cpu_ticks "$pid")
    b1=$(box_ticks)
    say "$out"
    stop_server
    local receipts
    receipts=$("$@")
    # RESULT conns= answered= ok= non200= errors= unanswered= secs= rps= p50_ms= p99_ms= max_ms= cpu_pct=
    local -A r
    local kv
    for kv in ${out#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
    local bad=$((r[non200] + r[errors] + r[unanswered]))
    local share server_cpu box check
    share=$(awk -v b="$bad" -v a="${r[answered]}" 'BEGIN { printf "%.2f%%", a ? 100 * b / a : 100 }')
    server_cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="${r[secs]}" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')
    # the whole box (PostgreSQL's backends too): busy share of all CPUs over the run
    box=$(printf '%s %s\n' "$b0" "$b1" | awk -v n="$(nproc)" '{ b = $3 - $1; i = $4 - $2; printf "%.0f%%", 100 * n * b / (b + i) }')
    check="ok"
    if [ "$bad" -ne 0 ] || [ "$receipts" -ne $((r[ok] + 1)) ]; then check="FAIL"; failed=1; fi
    results+=("$label $buyers ${r[rps]} ${r[p50_ms]} ${r[p99_ms]} ${r[max_ms]} $share $((receipts - 1)) ${r[ok]} $check $server_cpu ${r[cpu_pct]}% $box $load")
}

bench_db sqlite "sqlite://$work/sqlite.db" \
    sqlite3 "$work/sqlite.db" "SELECT COUNT(*) FROM purchase_receipt"
if [ -n "${TAVERN_TEST_PG:-}" ]; then
    pgdb="tavern_purchbench_$(date +%s)_$$"
    psql "$TAVERN_TEST_PG" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pgdb\"" >/dev/null
    pgurl=$(printf '%s' "$TAVERN_TEST_PG" | sed -E "s#/[^/?]*(\?.*)?\$#/$pgdb\1#")
    bench_db postgres "$pgurl" psql "$pgurl" -qAtX -c "SELECT COUNT(*) FROM purchase_receipt"
else
    say "TAVERN_TEST_PG is unset: PostgreSQL skipped"
fi

echo
echo "$("$bin" --version 2>&1 | head -n 1) | $(nproc) CPUs | $buyers buyers, one keep-alive connection each | ${duration}s"
echo "CPU: 100% = one core; \"box\" is every process (PostgreSQL included) over $(nproc) CPUs; load = 1-min load average before the run"
printf '%-9s %6s %12s %8s %8s %8s %8s %9s %9s %6s %10s %10s %6s %6s\n' db buyers "purchases/s" "p50 ms" \
    "p99 ms" "max ms" non-200 receipts "200s" check "server CPU" "purchload" "box" "load"
for r in "${results[@]}"; do
    # shellcheck disable=SC2086 # fields are space-separated on purpose
    set -- $r
    printf '%-9s %6s %12s %8s %8s %8s %8s %9s %9s %6s %10s %10s %6s %6s\n' "$@"
done
[ "$failed" -eq 0 ] || die "a check failed: non-200 answers, or receipts != 200 answers"
