#!/usr/bin/env bash
# Installs what tavern needs on Debian 12, as root: the build tools and libraries, and with
# --tests also PostgreSQL, Node.js and Chromium (for the integration, client-compatibility and
# console browser tests).
set -euo pipefail

pkgs=(gcc pkg-config meson ninja-build
      libmicrohttpd-dev libwebsockets-dev libwebsockets-evlib-ev libev-dev libsqlite3-dev libpq-dev libjwt-dev libcjson-dev
      libsodium-dev libcrypt-dev libprotobuf-c-dev protobuf-c-compiler)
if [ "${1:-}" = "--tests" ]; then
  # chromium: the console's browser tests drive Debian's build (no browser download)
  pkgs+=(postgresql ca-certificates chromium)
  # Keep a Node.js that is already there (e.g. a newer one from another source): Debian's
  # npm package would conflict with it.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
