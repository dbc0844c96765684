# Sourced by the bench scripts: wait_ready LOG PID waits for tavern's "ready api=HOST:PORT"
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
