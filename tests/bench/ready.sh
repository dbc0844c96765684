# shellcheck shell=bash
# Sourced by the bench scripts. pin_cpus and raise_nofile set up the realtime benches;
# wait_ready LOG PID waits for tavern's "ready api=HOST:PORT"
# line in LOG (up to 10 s, while PID lives) and prints HOST:PORT; on failure it shows the log
# and calls the script's die.
wait_ready() {
    local log=$1 pid=$2 api=
    for _ in $(seq 1 200); do
        api=$(sed -n 's/.*ready api=\([^ ]*\) .*/\1/p' "$log" | head -n 1)
        [ -n "$api" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "tavern exited during start-up"; }
        sleep 0.05
    done
    [ -n "$api" ] || { cat "$log" >&2; die "no ready line from tavern"; }
    echo "$api"
}

# With RTLOAD_PIN=1, sets srv_pin / gen_pin (taskset prefixes) to put the server on the first
# half of the CPUs and the load generator on the rest; otherwise both are empty.
pin_cpus() {
    # shellcheck disable=SC2034 # the caller's
    srv_pin=()
    # shellcheck disable=SC2034
    gen_pin=()
    [ "${RTLOAD_PIN:-0}" = 1 ] || return 0
    command -v taskset >/dev/null || die "RTLOAD_PIN=1 needs taskset (util-linux)"
    local cpus half
    cpus=$(nproc)
    [ "$cpus" -ge 2 ] || die "RTLOAD_PIN=1 needs at least 2 CPUs"
    half=$(( cpus / 2 ))
    # shellcheck disable=SC2034 # the caller's
    srv_pin=(taskset -c "0-$(( half - 1 ))")
    # shellcheck disable=SC2034
    gen_pin=(taskset -c "$half-$(( cpus - 1 ))")
}

# Raises this shell's open files limit (inherited by server and generator) to 65536, or to
# the hard limit when that is lower. Call it directly, not in $(...): a subshell's limit dies
# with it.
raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then
        ulimit -n 65536
    else
        ulimit -n "$hard"
    fi
}
