#!/usr/bin/env bash
# Fails when the sans-I/O layers reach for I/O, threads, sleeps or the clock.
set -u
root=${1:-.}
cd "$root" || exit 2
hits=$(grep -rnE 'boost/asio|boost/beast|<thread>|::now\(\)|sleep_for|sleep_until|<random>' \
  --exclude-dir=redis src/core src/protocol src/hub src/auth include/steadyws/core 2>/dev/null)
if [ -n "$hits" ]; then
  echo "core_is_pure: the sans-I/O layers must not use I/O, threads, sleeps, clocks or RNGs:"
  echo "$hits"
  exit 1
fi
echo "core_is_pure: src/core src/protocol src/hub src/auth (but src/hub/redis, the Redis I/O layer) include/steadyws/core are clean"
