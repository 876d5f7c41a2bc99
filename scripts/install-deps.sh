#!/usr/bin/env bash
# Installs what steadyws needs to build, test and benchmark, from Debian's packages and the
# npm registry. Idempotent and quiet when everything is already there; safe to run on every
# `make test` and `make run`. Run as root (or with sudo available) on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the toolchain, the libraries we link and the tools the tests drive.
apt_pkgs=(
  g++ cmake ninja-build make pkg-config curl procps util-linux
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev libboost-url1.81-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang-format
  nodejs npm
  libssl-dev openssl zlib1g-dev libjwt-dev libhiredis-dev redis-server nginx-light
)
# The browser suite needs Chromium; skip it with STEADYWS_NO_BROWSER=1 on a server box.
if [ "${STEADYWS_NO_BROWSER:-0}" != 1 ]; then
  apt_pkgs+=(chromium)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # nodejs from another source (a node binary already on PATH) is good enough.
    if { [ "$p" = nodejs ] || [ "$p" = npm ]; } && command -v "${p/nodejs/node}" >/dev/null; then
      continue
    fi
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the interop, browser and peer-benchmark suites (package-lock.json pins them).
if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
