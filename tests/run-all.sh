#!/usr/bin/env bash
# Installs everything, builds, and runs every test suite twice: a normal build and one under
# AddressSanitizer + UBSan. Unit, integration and nakama-js tests run on SQLite and on the
# PostgreSQL this script starts. Run as root from anywhere on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh --tests
TAVERN_TEST_PG=$(bash tests/pg-setup.sh | tail -n 1)
export TAVERN_TEST_PG
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

run_suite() { # build-dir, extra meson options...
  local dir=$1; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi
  ninja -C "$dir"
  meson test -C "$dir" --print-errorlogs --num-processes 2
}

count() { # build-dir: adds its test results to the totals
  python3 - "$1/meson-logs/testlog.json" <<'PY' >>"$tally"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    print("pass" if r in ("OK", "EXPECTEDFAIL") else "skip" if r == "SKIP" else "fail")
PY
}

# The README's run command builds with --buildtype=release: -O3 brings warnings of its own
# (-Wformat-truncation), so that build must stay clean too. Built, not tested.
if [ -d build-release ]; then meson setup --reconfigure build-release --buildtype=release >/dev/null
else meson setup build-release --buildtype=release >/dev/null; fi
ninja -C build-release

tally=$(mktemp)
run_suite build-test
count build-test
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
count build-asan
echo "all suites passed (normal and ASan+UBSan builds)"
echo "$(grep -c '^pass$' "$tally") passed, $(grep -c '^fail$' "$tally") failed, $(grep -c '^skip$' "$tally") skipped"
rm -f "$tally"
