#!/usr/bin/env bash
# The chat fan-out bench (run by hand, never in CI): CHAT_N (1,000) users in one chat room, S
# senders sending R messages a second in total for CHAT_DURATION seconds, with `rtload -m chat`
# over loopback. Unstored runs (persistence false: sent at once from the socket's thread) and
# stored runs (the channel's write queue, batches of up to 64 per transaction) on SQLite and,
# when TAVERN_TEST_PG is set, on PostgreSQL. Every run gets a fresh server and a fresh database;
# a table of deliveries/s against R * N, the delivered share, latency, ack latency, order,
# dropped sockets, CPU and RSS ends it, with the stored row count checked against the acks.
#
# Use:  bash tests/bench/chat.sh
#       TAVERN_TEST_PG=$(bash tests/pg-setup.sh | tail -n 1) bash tests/bench/chat.sh
#       CHAT_RATES="200 400" CHAT_MODES=unstored CHAT_SENDERS="1 10" bash tests/bench/chat.sh
# Env:  CHAT_N          members of the room (default 1000)
#       CHAT_RATES      total messages a second of the room (default "10 50 100")
#       CHAT_SENDERS    sender counts (default "1"); each count is run at each rate
#       CHAT_MODES      "unstored stored" (default both); unstored runs on SQLite only (it
#                       touches no database), stored on every engine
#       CHAT_DBS        engines for the stored runs (default: sqlite, and postgres when
#                       TAVERN_TEST_PG is set)
#       CHAT_DURATION   seconds of sending (default 10)
#       CHAT_REPEAT     runs of each configuration (default 1)
#       CHAT_VISIBLE    1: listeners join visible, so each join is announced to every member
#                       (the join storm; by default they join hidden, and only the senders
#                       are announced, so the set-up does not decide who is left to measure)
#       CHAT_JOINSTORM  1 (default): one more run first, unstored at the lowest rate with
#                       visible listeners, to show what the join storm does
#       CHAT_CONTENT    content bytes (default 64)
#       RTLOAD_THREADS  rtload threads for the listeners (default 1; the senders get one more)
#       CHAT_RTLOAD_ARGS extra rtload flags, e.g. "-c 1" (one handshake, so one join, in flight)
#       RTLOAD_PIN      1: server on the first half of the CPUs, rtload on the rest
#       TAVERN_ARGS     extra tavern flags, e.g. "--ws-threads 1"
#       TAVERN_BIN with RTLOAD_BIN: use these binaries instead of building RTLOAD_BUILD_DIR
#       (default build-bench-rt, a release build shared with rtload.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=${CHAT_N:-1000}
rates=${CHAT_RATES:-10 50 100}
senders_list=${CHAT_SENDERS:-1}
modes=${CHAT_MODES:-unstored stored}
duration=${CHAT_DURATION:-10}
repeat=${CHAT_REPEAT:-1}
content=${CHAT_CONTENT:-64}
threads=${RTLOAD_THREADS:-1}
say() { echo "chat.sh: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=SCRIPTDIR/ready.sh
. "$root/tests/bench/ready.sh"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
dbs=${CHAT_DBS:-sqlite${TAVERN_TEST_PG:+ postgres}}
case " $dbs " in *" postgres "*)
    [ -n "${TAVERN_TEST_PG:-}" ] || die "CHAT_DBS names postgres: set TAVERN_TEST_PG"
    command -v psql >/dev/null || die "psql is not installed" ;;
esac

if [ -n "${TAVERN_BIN:-}" ]; then
    bin=$TAVERN_BIN
    gen=${RTLOAD_BIN:-}
    [ -n "$gen" ] || die "set RTLOAD_BIN along with TAVERN_BIN"
else
    build=${RTLOAD_BUILD_DIR:-$root/build-bench-rt}
    if [ ! -f "$build/build.ninja" ]; then
        say "configuring a release build in $build"
        meson setup "$build" "$root" --buildtype=release >&2
    fi
    ninja -C "$build" server/tavern tests/bench/rtload >&2
    bin=$build/server/tavern
    gen=$build/tests/bench/rtload
fi
[ -x "$bin" ] || die "no tavern binary at $bin"
[ -x "$gen" ] || die "no rtload binary at $gen"

pin_cpus
raise_nofile
[ "$n" -le $(( $(ulimit -n) - 200 )) ] || die "$n sockets do not fit the open files limit ($(ulimit -n))"

work=$(mktemp -d /tmp/tavern-chatbench.XXXXXX)
pid=
pgdbs=()
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    local d
    for d in "${pgdbs[@]}"; do
        psql "$TAVERN_TEST_PG" -qAtX -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

box_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; } # busy idle

# new_db ENGINE NAME: a fresh database for one run, its URL in $url (not in a subshell: the
# cleanup drops what pgdbs lists); count_rows ENGINE URL: its stored messages
new_db() {
    case $1 in
    sqlite) url="sqlite://$work/$2.db" ;;
    postgres)
        local d
        d="tavern_chatbench_$(date +%s)_$$_${#pgdbs[@]}"
        pgdbs+=("$d")
        psql "$TAVERN_TEST_PG" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$d\"" >/dev/null
        url=$(printf '%s' "$TAVERN_TEST_PG" | sed -E "s#/[^/?]*(\?.*)?\$#/$d\1#") ;;
    *) die "unknown engine '$1' (sqlite or postgres)" ;;
    esac
}
count_rows() {
    case $1 in
    sqlite) sqlite3 "${2#sqlite://}" "SELECT COUNT(*) FROM channel_message" ;;
    postgres) psql "$2" -qAtX -c "SELECT COUNT(*) FROM channel_message" ;;
    esac
}

results=()
# run NAME ENGINE MODE SENDERS RATE VISIBLE
run() {
    local name=$1 engine=$2 mode=$3 s=$4 r=$5 visible=$6
    local url log=$work/$1.log out=$work/$1.out
    new_db "$engine" "$name"
    local flags=(-m chat -n "$n" -S "$s" -r "$r" -d "$duration" -s "$content" -t "$threads" -T 120)
    [ "$mode" = unstored ] && flags+=(-N)
    [ "$visible" = 1 ] || flags+=(-H)
    # shellcheck disable=SC2206 # CHAT_RTLOAD_ARGS is a list of flags
    flags+=(${CHAT_RTLOAD_ARGS:-})
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    say "== $name: $engine, $mode, $s sender(s), $r msgs/s, $n members (load $load): rtload ${flags[*]}"
    mkdir -p "$work/$name"
    # shellcheck disable=SC2086 # TAVERN_ARGS is a list of flags
    "${srv_pin[@]}" "$bin" --address 127.0.0.1 --port 0 --console-port 0 --data-dir "$work/$name" \
        --db "$url" ${TAVERN_ARGS:-} 2>"$log" &
    pid=$!
    local api rc=0 b0 b1
    api=$(wait_ready "$log" "$pid") || exit 1
    b0=$(box_ticks)
    # bounded: sign-in, set-up (-T 120), the run and the drain (at most 10 s) fit in this
    timeout -k 5 300 "${gen_pin[@]}" "$gen" -P "${api##*:}" -p "$pid" "${flags[@]}" >"$out" || rc=$?
    b1=$(box_ticks)
    cat "$out" >&2
    kill -TERM "$pid"
    wait "$pid" || say "warning: tavern exited with status $?"
    pid=
    local line rows sess warns box
    line=$(grep '^RESULT ' "$out" || true)
    [ -n "$line" ] || { say "$name: no result (rtload exit status $rc)"; line="RESULT mode=failed"; }
    rows=$(count_rows "$engine" "$url" 2>/dev/null || echo '?')
    # sessions the server closed for a full outgoing queue (it may log one twice)
    sess=$(sed -n 's/.*session \([^:]*\): outgoing queue full.*/\1/p' "$log" | sort -u | wc -l)
    warns=$(grep -E ' (warn|error) ' "$log" | grep -cv 'default\|outgoing queue full' || true)
    [ "$warns" -eq 0 ] || { say "$name: other server warnings:"; grep -E ' (warn|error) ' "$log" | grep -v 'default\|outgoing queue full' | head -n 5 >&2; }
    # the whole box (PostgreSQL's backends too): busy share of all CPUs during the rtload run
    box=$(printf '%s %s\n' "$b0" "$b1" | awk -v c="$(nproc)" '{ b = $3 - $1; i = $4 - $2; printf "%.0f", 100 * c * b / (b + i) }')
    results+=("name=$name engine=$engine store=$mode visible=$visible ${line#RESULT } rows=$rows qfull=$sess load=$load box_cpu=$box")
}

idx=0
first_rate=${rates%% *}
if [ "${CHAT_JOINSTORM:-1}" = 1 ]; then
    idx=$((idx + 1))
    run "joinstorm-$idx" sqlite unstored 1 "$first_rate" 1
fi
for rep in $(seq 1 "$repeat"); do
    for mode in $modes; do
        engines=sqlite
        [ "$mode" = stored ] && engines=$dbs
        for engine in $engines; do
            for s in $senders_list; do
                for r in $rates; do
                    idx=$((idx + 1))
                    run "$engine-$mode-s$s-r$r-$rep" "$engine" "$mode" "$s" "$r" "${CHAT_VISIBLE:-0}"
                done
            done
        done
    done
done

field() {
    local v
    v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p")
    case $v in '' | -1 | -1.0 | -1.00) echo - ;; *) echo "$v" ;; esac
}
row='%-24s %5s %9s %7s %6s %8s %8s %7s %7s %7s %7s %7s %7s %5s %5s %5s %5s %5s %5s %7s %6s %5s\n'
echo
echo "$("$bin" --version 2>&1 | head -n 1) | $(nproc) CPUs | $n members | ${duration}s | content $content bytes | rtload -t $threads"
# shellcheck disable=SC2059 # the format is $row
printf "$row" run members closed sent/s busy 'deliv/s' 'expect/s' 'deliv%' 'p50 ms' 'p99 ms' \
    'max ms' 'ack50' 'ack99' ooo gaps 'srv%' 'sys%' 'gen%' 'box%' 'RSS KiB' rows load
for r in "${results[@]}"; do
    sent=$(field "$r" sent)
    # shellcheck disable=SC2059
    printf "$row" "$(field "$r" name)" "$(field "$r" connected)/$(field "$r" n)" \
        "$(field "$r" closed)/$(field "$r" closed_run)" \
        "$(awk -v s="$sent" -v d="$duration" 'BEGIN { printf "%.0f", s / d }')" \
        "$(field "$r" busy)" "$(field "$r" delivered_per_s)" "$(field "$r" expected_per_s)" \
        "$(field "$r" delivered_pct)" "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" \
        "$(field "$r" max_ms)" "$(field "$r" ack_p50_ms)" "$(field "$r" ack_p99_ms)" \
        "$(field "$r" ooo)" "$(field "$r" gaps)" "$(field "$r" server_cpu)" \
        "$(field "$r" server_sys)" "$(field "$r" gen_cpu)" "$(field "$r" box_cpu)" \
        "$(field "$r" rss2_kib)" "$(field "$r" rows)" "$(field "$r" load)"
done
cat <<'EOF'
members: sockets connected / users; closed: sockets the server closed in all / while sending
(the 64-message outgoing queue: its sessions are in the server log). sent/s: accepted or not;
busy: sends refused "Server is busy". deliv/s: channel_message pushes received in the window
(expect/s = R * N); deliv%: received / what the accepted sends should have made. p50/p99/max:
send -> receipt at every member; ack50/99: the sender's channel_message_ack. ooo: a message
heard after a later one of its sender (or twice); gaps: sequence numbers skipped. srv%, sys%
(its kernel part), gen%: CPU, 100 = one core; box%: every process over all CPUs (PostgreSQL
too). rows: stored messages in the database after the run (stored runs: must equal the acks).
load: 1-minute load average before the run.
EOF
for r in "${results[@]}"; do
    [ "$(field "$r" store)" = stored ] || continue
    if [ "$(field "$r" rows)" != "$(field "$r" acks)" ]; then
        say "$(field "$r" name): $(field "$r" rows) stored rows but $(field "$r" acks) acks"
    fi
done
