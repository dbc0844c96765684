#!/usr/bin/env bash
# Realtime load on a release build of tavern, measured with rtload over loopback (run by hand,
# never in CI): RSS per idle WebSocket at 1k and 10k sockets, then relayed matches of 10 at
# 20 Hz with 1,000 / 2,000 / 5,000 clients. Each run gets a fresh server on SQLite in a temp
# dir; a summary table and the targets (<= 8 KiB per idle socket, p99 < 50 ms at 5,000) end it.
# Named arena runs (not in the default set) load authoritative matches of modules/arena instead:
# arena<M> is M matches of 10 players sending inputs at RTLOAD_ARENA_RATE, with the server's
# 20 Hz op 2 broadcasts counted and its tick figures (p50/p99/max, overruns) taken from its log.
#
# Use:  bash tests/bench/rtload.sh
# Env:  TAVERN_BIN        use this binary (and RTLOAD_BIN) instead of building $RTLOAD_BUILD_DIR
#       RTLOAD_BUILD_DIR  release build directory (default build-bench-rt at the repo root)
#       RTLOAD_DURATION   seconds of sending per room run (default 10; idle runs hold 5 s)
#       RTLOAD_THREADS    rtload threads, one lws context each (default: half the cores)
#       RTLOAD_RUNS       which runs (default "idle1k idle10k rooms1k rooms2k rooms5k"): idle<N> or
#                         rooms<N>, N a count with an optional k (thousands), e.g. "rooms800";
#                         arena<M>: M arena matches of 10 (M*10 sockets), e.g. "arena100 arena1k"
#       RTLOAD_ARENA_RATE arena inputs per player per second (default 10; the module allows 30)
#       RTLOAD_PIN        1: pin the server to the first half of the CPUs and rtload to the
#                         rest (taskset), so each side's CPU figure is its own ceiling
#       TAVERN_ARGS       extra tavern flags, e.g. "--ws-threads 1"
#       RTLOAD_FORMAT     json (default) or protobuf: the sockets' realtime format (rtload -F);
#                         the md B column is the average wire size of a match_data message
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
duration=${RTLOAD_DURATION:-10}
threads=${RTLOAD_THREADS:-0} # 0: rtload takes half the cores, the server keeps the rest
runs=${RTLOAD_RUNS:-idle1k idle10k rooms1k rooms2k rooms5k}
say() { echo "rtload.sh: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=SCRIPTDIR/ready.sh
. "$root/tests/bench/ready.sh"

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
    say "building $build"
    ninja -C "$build" server/tavern tests/bench/rtload modules/arena.so >&2
    bin=$build/server/tavern
    gen=$build/tests/bench/rtload
    arena_so=$build/modules/arena.so
fi
# the arena runs load modules/arena: ARENA_SO, or the build's, or one next to TAVERN_BIN's build
arena_so=${ARENA_SO:-${arena_so:-$(dirname "$bin")/../modules/arena.so}}
[ -x "$bin" ] || die "no tavern binary at $bin"
[ -x "$gen" ] || die "no rtload binary at $gen"

pin_cpus
[ ${#srv_pin[@]} -eq 0 ] || say "server on CPUs ${srv_pin[2]}, rtload on CPUs ${gen_pin[2]}"

# Both processes inherit this: 10k sockets need 10k descriptors on each side.
raise_nofile
nofile=$(ulimit -n)
say "open files limit: $nofile (hard $(ulimit -Hn))"

work=$(mktemp -d /tmp/tavern-rtload.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME [FLAGS...]: a fresh tavern on SQLite in $work/NAME; sets $pid and $port.
start_server() {
    local name=$1 log=$work/$1.log
    shift
    mkdir -p "$work/$name"
    # shellcheck disable=SC2086 # TAVERN_ARGS is a list of flags
    "${srv_pin[@]}" "$bin" --address 127.0.0.1 --port 0 --console-port 0 --data-dir "$work/$name" \
        "$@" ${TAVERN_ARGS:-} 2>"$log" &
    pid=$!
    local api
    api=$(wait_ready "$log" "$pid") || exit 1
    port=${api##*:}
}

stop_server() {
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    [ "$rc" -eq 0 ] || say "warning: tavern exited with status $rc"
}

results=()

# run NAME RTLOAD-ARGS...: one rtload run against a fresh server; keeps its RESULT line.
# srv_args (an array) are extra server flags for this run.
srv_args=()
run() {
    local name=$1
    shift
    say "== $name: rtload $*"
    start_server "$name" "${srv_args[@]}"
    local out=$work/$name.out rc=0
    # bounded: sign-in, set-up (-T 120), the run and the drain all fit in this
    timeout -k 5 300 "${gen_pin[@]}" "$gen" -P "$port" -p "$pid" -t "$threads" -T 120 \
        -F "${RTLOAD_FORMAT:-json}" "$@" >"$out" || rc=$?
    cat "$out" >&2
    local drops
    drops=$(grep -c 'outgoing queue full' "$work/$name.log" || true)
    [ "$drops" -eq 0 ] || say "server log: $drops 'outgoing queue full' lines"
    stop_server
    local line
    line=$(grep '^RESULT ' "$out" || true)
    if [ -z "$line" ]; then
        say "$name: no result (rtload exit status $rc)"
        line="RESULT mode=failed"
    fi
    # the server's authoritative-match line at shutdown: "...; ticks N: p50 X us, p99 Y us,
    # max Z us, overruns O, late L" (whole server life, set-up included)
    local ticks
    ticks=$(sed -n 's/.*\[match\].* ticks \([0-9]*\): p50 \([0-9]*\) us, p99 \([0-9]*\) us, max \([0-9]*\) us, overruns \([0-9]*\), late \([0-9]*\).*/ticks=\1 tick_p50_us=\2 tick_p99_us=\3 tick_max_us=\4 overruns=\5 late=\6/p' \
        "$work/$name.log" | tail -n 1)
    [ -z "$ticks" ] || say "$name: server $ticks"
    results+=("name=$name ${line#RESULT } $ticks")
}

arena_rate=${RTLOAD_ARENA_RATE:-10}
for name in $runs; do
    count=${name#idle}
    count=${count#rooms}
    count=${count#arena}
    case $count in
    *k) n=$(( ${count%k} * 1000 )) ;;
    *) n=$count ;;
    esac
    case $n in '' | *[!0-9]*) die "bad run name '$name' in RTLOAD_RUNS" ;; esac
    case $name in arena*) n=$(( n * 10 )) ;; esac # arena<M>: M matches of 10
    if [ "$n" -lt 1 ] || [ "$n" -gt $(( nofile - 200 )) ]; then
        die "$name: $n clients do not fit the open files limit ($nofile) with some to spare"
    fi
    addrs=$(( n / 8000 + 1 )) # spare source addresses, so ephemeral ports never run short
    case $name in
    idle*) run "$name" -n "$n" -r 0 -d 5 -a "$addrs" ;;
    rooms*) run "$name" -n "$n" -k 10 -r 20 -d "$duration" -a "$addrs" ;;
    arena*)
        [ -f "$arena_so" ] || die "$name: no arena module at $arena_so (set ARENA_SO)"
        mkdir -p "$work/modules-$name"
        cp "$arena_so" "$work/modules-$name/"
        srv_args=(--module-path "$work/modules-$name")
        run "$name" -m arena -n "$n" -k 10 -r "$arena_rate" -d "$duration" -a "$addrs"
        srv_args=() ;;
    *) die "bad run name '$name' in RTLOAD_RUNS" ;;
    esac
done

# field LINE KEY: the value of KEY=... in a RESULT line; "-" when absent or not applicable
# (rtload writes -1 for figures a run does not have, such as latency with idle sockets).
field() {
    local v
    v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p")
    case $v in '' | -1 | -1.0 | -1.00) echo - ;; *) echo "$v" ;; esac
}

row='%-9s %6s %6s %5s %6s %8s %8s %7s %7s %7s %7s %6s %6s %6s %6s %8s %7s %8s %5s\n'
echo
have_rooms=0
for r in "${results[@]}"; do case $(field "$r" name) in arena*) ;; *) have_rooms=1 ;; esac; done
if [ "$have_rooms" = 1 ]; then
    # shellcheck disable=SC2059 # the format is $row
    printf "$row" run clients conn fail closed 'deliv/s' 'expect/s' 'deliv%' 'p50 ms' 'p99 ms' \
        'max ms' 'srv%' 'sys%' 'gen%' 'stall' 'RSS KiB' 'B/sock' format 'md B'
    for r in "${results[@]}"; do
        case $(field "$r" name) in arena*) continue ;; esac
        fails=$(( $(field "$r" conn_fail | tr -d -) + $(field "$r" setup_fail | tr -d -) + 0 ))
        # shellcheck disable=SC2059
        printf "$row" "$(field "$r" name)" "$(field "$r" n)" "$(field "$r" connected)" "$fails" \
            "$(field "$r" closed)" "$(field "$r" delivered_per_s)" "$(field "$r" expected_per_s)" \
            "$(field "$r" delivered_pct)" "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" \
            "$(field "$r" max_ms)" "$(field "$r" server_cpu)" "$(field "$r" server_sys)" \
            "$(field "$r" gen_cpu)" "$(field "$r" gen_stall_ms)" "$(field "$r" rss1_kib)" \
            "$(field "$r" bytes_per_socket)" "$(field "$r" format)" "$(field "$r" md_bytes)"
    done
    echo "srv%, sys% (its kernel part) and gen%: CPU over the run, 100 = one core, $(nproc) cores"
    echo "shared by server and generator. stall: rtload's longest event-loop stall in ms (large"
    echo "means the generator itself was late). closed: sockets the server dropped during the run."
    echo "RSS KiB: server VmRSS with every socket connected; B/sock: its growth per socket."
    echo
fi

arow='%-9s %7s %6s %5s %6s %8s %8s %7s %7s %7s %7s %6s %6s %8s %7s %7s %7s %5s\n'
have_arena=0
for r in "${results[@]}"; do case $(field "$r" name) in arena*) have_arena=1 ;; esac; done
if [ "$have_arena" = 1 ]; then
    # shellcheck disable=SC2059 # the format is $arow
    printf "$arow" run sockets match fail closed 'bcast/s' 'expect/s' 'bcast%' 'ival50' \
        'ival99' 'ivalmax' 'srv%' 'gen%' 'RSS KiB' 'tick50' 'tick99' 'tickmax' 'over'
    for r in "${results[@]}"; do
        case $(field "$r" name) in arena*) ;; *) continue ;; esac
        fails=$(( $(field "$r" conn_fail | tr -d -) + $(field "$r" setup_fail | tr -d -) + 0 ))
        # shellcheck disable=SC2059
        printf "$arow" "$(field "$r" name)" "$(field "$r" connected)" \
            "$(( $(field "$r" n | tr -d -) / 10 ))" "$fails" "$(field "$r" closed)" \
            "$(field "$r" delivered_per_s)" "$(field "$r" expected_per_s)" \
            "$(field "$r" delivered_pct)" "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" \
            "$(field "$r" max_ms)" "$(field "$r" server_cpu)" "$(field "$r" gen_cpu)" \
            "$(field "$r" rss2_kib)" "$(field "$r" tick_p50_us)" "$(field "$r" tick_p99_us)" \
            "$(field "$r" tick_max_us)" "$(field "$r" overruns)"
    done
    echo "arena: bcast/s: op 2 state broadcasts received in the window, expect/s = clients x 20."
    echo "ival50/99/max: ms between two broadcasts to one client (ideal 50). RSS KiB: server"
    echo "VmRSS at the end. tick50/99/max: the server's tick durations in us, over its whole life"
    echo "(from its shutdown log line); over: ticks over the 50 ms budget."
    echo
fi

# targets
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
for r in "${results[@]}"; do
    case $(field "$r" name) in
    idle10k)
        b=$(field "$r" bytes_per_socket)
        ok=$(awk -v b="$b" 'BEGIN { print (b != "-" && b > 0 && b <= 8192) ? 1 : 0 }')
        echo "target: <= 8 KiB per idle socket at 10k sockets: $b bytes: $(verdict "$ok")" ;;
    arena*)
        t99=$(field "$r" tick_p99_us) pct=$(field "$r" delivered_pct) cl=$(field "$r" closed)
        ok=$(awk -v t="$t99" 'BEGIN { print (t != "-" && t >= 0 && t < 5000) ? 1 : 0 }')
        ok2=$(awk -v d="$pct" -v c="$cl" 'BEGIN { print (d >= 99 && c == 0) ? 1 : 0 }')
        echo "target: $(field "$r" name): server tick p99 < 5 ms (10 % of the 50 ms budget):" \
            "$t99 us: $(verdict "$ok"); >= 99 % of broadcasts received with nobody dropped:" \
            "$pct %, $cl dropped: $(verdict "$ok2")" ;;
    rooms5k)
        p99=$(field "$r" p99_ms) pct=$(field "$r" delivered_pct) cl=$(field "$r" closed)
        ok=$(awk -v p="$p99" -v d="$pct" -v c="$cl" \
            'BEGIN { print (p != "-" && p >= 0 && p < 50 && d >= 99 && c == 0) ? 1 : 0 }')
        echo "target: 5,000 clients in rooms of 10 at 20 Hz, p99 < 50 ms with every message" \
            "delivered and nobody dropped: p99 $p99 ms, $pct % delivered, $cl dropped:" \
            "$(verdict "$ok")" ;;
    esac
done
