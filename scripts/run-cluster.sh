#!/usr/bin/env bash
# make run-cluster: a local Redis on a private port with its data under build/ (never the
# system's Redis), and three steadyws nodes on 127.0.0.1:6011-6013. Ctrl-C stops them all.
# Usage: scripts/run-cluster.sh [path/to/steadyws]   (env: REDIS_PORT [6390], NODES [3])
set -euo pipefail
bin=${1:-build/release/steadyws}
root=$(cd "$(dirname "$0")/.." && pwd)
port=${REDIS_PORT:-6390}
nodes=${NODES:-3}
data="$root/build/run-cluster/redis"
mkdir -p "$data"
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run-cluster: stopped"
}
trap cleanup INT TERM EXIT

redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --save '' --appendonly yes \
  --daemonize no --logfile "$data/redis.log" &
pids+=($!)
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$port" ping >/dev/null || { echo "run-cluster: redis-server did not start; see $data/redis.log"; exit 1; }
echo "run-cluster: redis on 127.0.0.1:$port (data in $data)"

for i in $(seq 1 "$nodes"); do
  "$bin" serve --port $((6010 + i)) --redis "redis://127.0.0.1:$port" --node-id "node$i" &
  pids+=($!)
done
echo "run-cluster: nodes on http://127.0.0.1:6011 .. :$((6010 + nodes)); Ctrl-C stops everything"
wait -n "${pids[@]}" || true
