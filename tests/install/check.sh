#!/usr/bin/env bash
# `cmake --install` of a build, then a program outside the tree built against the installed
# copy with find_package(steadyws) and run against the installed server binary:
#   tests/install/check.sh BUILD_DIR SOURCE_DIR
# Also checks that a private header (src/) is not reachable from steadyws::client.
set -euo pipefail
build=$1
src=$2
work=$build/install-check
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in lib/cmake/steadyws/steadywsConfig.cmake include/steadyws/client.hpp bin/steadyws; do
  [ -e "$prefix/$f" ] || { echo "install: $f missing"; exit 1; }
done
if find "$prefix/include" -path '*server*' -o -path '*protocol*' | grep -q .; then
  echo "install: private headers were installed:"; find "$prefix/include"; exit 1
fi

cmake -S "$src/tests/install/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" --target consumer >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
if cmake --build "$work/consumer" --target private_probe >"$work/probe.log" 2>&1; then
  echo "install: a private header (protocol/codec.hpp) compiled against steadyws::client"
  exit 1
fi
grep -q 'protocol/codec.hpp' "$work/probe.log" ||
  { echo "install: private_probe failed for another reason:"; cat "$work/probe.log"; exit 1; }

# The installed server on a free port, the consumer against it.
log=$work/serve.log
"$prefix/bin/steadyws" serve --host 127.0.0.1 --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "install: serve exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "install: serve did not listen within 10 s:"; cat "$log"; exit 1; }
out=$("$work/consumer/consumer" "ws://127.0.0.1:$port/ws")
echo "$out"
[[ $out == "consumer: received installed 1" ]] || { echo "install: unexpected output"; exit 1; }
echo "install: find_package(steadyws) consumer built, linked and ran against the install"
