#!/usr/bin/env bash
# scripts/bench-cluster.sh OUTDIR: the cluster figures of issue 13, in one run: a real Redis
# (redis-server on a free port, data under build/bench-cluster/, stopped on exit) and
#   cluster  3 steadyws nodes with --redis, 1,000 subscribers spread over them, publishes
#            through the first node;
#   single   the same load on one steadyws node without Redis;
#   peer     3 processes of the npm `ws` + npm `redis` peer (bench/peers/ws-redis-peer.mjs) on
#            the same Redis, the same load;
#   pipeline 3 nodes, one subscriber on each, publishes through one node with 200 acks in
#            flight: publishes/s through Redis, and Redis's CPU, bytes and commands per publish;
#            pipeline1 the same with one subscriber (one node subscribed): the difference is
#            what each further node with subscribers costs Redis.
# Each of the first three at 50 publishes/s (rate50: latency) and with 16 publishes in flight
# (window16: as fast as it goes). The load is bench/cluster/cluster-bench.mjs (one Node
# process: `steadyws bench` speaks to one URL only). Pinning: Redis and every server process on
# core 0 (steadyws --threads 1 --rate-limit 0, as scripts/bench-lib.sh), the load on core 1; a
# fresh set of servers per case and round, one Redis for the whole run.
# Writes OUTDIR/cluster-raw/*.json, OUTDIR/cluster.json (medians) and the "Cluster" section of
# docs/benchmarks.md (between the cluster:begin/cluster:end markers).
#
# Knobs: STEADYWS_BIN, BENCH_ROUNDS [3], BENCH_DURATION [10], BENCH_SUBSCRIBERS [1000],
# BENCH_ONLY (case names, e.g. "cluster-rate50 pipeline"), BENCH_DOC [docs/benchmarks.md].
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

out=${1:?usage: scripts/bench-cluster.sh OUTDIR}
bin=${STEADYWS_BIN:-build/release/steadyws}
rounds=${BENCH_ROUNDS:-3}
dur=${BENCH_DURATION:-10}
subs=${BENCH_SUBSCRIBERS:-1000}
only=${BENCH_ONLY:-}
doc=${BENCH_DOC:-docs/benchmarks.md}
raw="$out/cluster-raw"
[ -x "$bin" ] || { echo "bench-cluster: $bin not found; run make bench" >&2; exit 1; }
command -v redis-server >/dev/null || {
  echo "bench-cluster: redis-server not found; run scripts/install-deps.sh" >&2
  exit 1
}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.log
echo '*' >"$raw/.gitignore"

data=build/bench-cluster
rm -rf "$data" && mkdir -p "$data"
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
redis_port=$(free_port)
redis_pid=""
pids=()
ports=()
started=0

# start_one LOG CMD...: runs CMD on core 0, waits for its "listening on HOST:PORT" line (10 s)
# and appends its pid and port to pids/ports; returns 1 (and says why) if it does not listen.
start_one() {
  local log=$1 port=""
  shift
  taskset -c 0 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    port=$(sed -n 's/^listening on [^ ]*:\([0-9]*\)$/\1/p' "$log" | head -n1)
    [ -n "$port" ] && { ports+=("$port"); return 0; }
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench-cluster: $* did not start: $(tail -n3 "$log")" >&2
  return 1
}

# stop_all: SIGTERM to every server of the case, then SIGKILL after 5 s.
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.05
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  ports=()
}

# start_servers KIND N LOGPREFIX: KIND steadyws (N nodes on Redis; N=0: one node without it)
# or peer (N processes of bench/peers/ws-redis-peer.mjs). Node ids are new per call (n<call>.<i>):
# a heartbeat lives 15 s, so an id reused by the next round would be taken for a duplicate.
start_servers() {
  local kind=$1 n=$2 logp=$3 i
  started=$((started + 1))
  local common=(serve --host 127.0.0.1 --port 0 --threads 1 --rate-limit 0 --log-level warn)
  if [ "$kind" = steadyws ] && [ "$n" = 0 ]; then
    start_one "$logp-0.server.log" "$bin" "${common[@]}" || return 1
    return 0
  fi
  for i in $(seq "$n"); do
    if [ "$kind" = steadyws ]; then
      start_one "$logp-$i.server.log" "$bin" "${common[@]}" \
        --redis "redis://127.0.0.1:$redis_port" --node-id "n$started.$i" || return 1
    else
      start_one "$logp-$i.server.log" node bench/peers/ws-redis-peer.mjs --host 127.0.0.1 \
        --port 0 --redis "redis://127.0.0.1:$redis_port" || return 1
    fi
  done
}

stop_redis() {
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  redis_pid=""
}
trap 'stop_all; stop_redis' EXIT
taskset -c 0 redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$PWD/$data" --save '' \
  --appendonly no --daemonize no --logfile "$PWD/$data/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || {
  echo "bench-cluster: redis-server did not start; see $data/redis.log" >&2
  exit 1
}

# run CASE KIND N LOAD-ARGS...: one case, $rounds rounds, a fresh set of servers each.
run() {
  local name=$1 kind=$2 n=$3
  shift 3
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return 0; fi
  local round file urls p rp
  for round in $(seq "$rounds"); do
    file="$raw/$name-$round.json"
    echo "== cluster $name round $round/$rounds" >&2
    if ! start_servers "$kind" "$n" "$raw/$name-$round"; then
      echo '{"failed":"a server did not start"}' >"$file"
      stop_all
      continue
    fi
    rp=()
    [ "$n" != 0 ] && rp=(--redis-port "$redis_port")  # single: Redis is not in its path
    urls=""
    for p in "${ports[@]}"; do urls+="${urls:+,}ws://127.0.0.1:$p/ws"; done
    taskset -c 1 node bench/cluster/cluster-bench.mjs --urls "$urls" --label "$name" \
      --server-pids "$(IFS=,; echo "${pids[*]}")" "${rp[@]}" \
      --duration "$dur" "$@" >"$file" 2>"$raw/$name-$round.log" ||
      echo "bench-cluster: $name round $round had errors (see $file)" >&2
    stop_all
  done
}

loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
for mode in rate50 window16; do
  case $mode in rate50) load=(--rate 50) ;; window16) load=(--window 16) ;; esac
  run "cluster-$mode" steadyws 3 --subscribers "$subs" "${load[@]}"
  run "single-$mode" steadyws 0 --subscribers "$subs" "${load[@]}"
  run "peer-$mode" peer 3 --subscribers "$subs" "${load[@]}"
done
run pipeline steadyws 3 --subscribers 3 --window 200
run pipeline1 steadyws 3 --subscribers 1 --window 200  # subscribers on one node: per-node cost
# Calibration: `steadyws bench fanout` (the C++ load of scripts/bench-server.sh) on one node at
# 50/s, beside single-rate50, shows what the Node load adds to the latency.
if [ -z "$only" ] || [[ " $only " == *" native-rate50 "* ]]; then
  for round in $(seq "$rounds"); do
    echo "== cluster native-rate50 round $round/$rounds" >&2
    file="$raw/native-rate50-$round.json"
    if start_servers steadyws 0 "$raw/native-rate50-$round"; then
      taskset -c 1 "$bin" bench fanout --url "ws://127.0.0.1:${ports[0]}/ws" --subscribers "$subs" \
        --rate 50 --payload 64 --duration "$dur" --warmup 2 --server-pid "${pids[0]}" --json \
        --no-progress >"$file" 2>"$raw/native-rate50-$round.log" || true
    else
      echo '{"failed":"a server did not start"}' >"$file"
    fi
    stop_all
  done
fi
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

node bench/cluster/report.mjs "$out" "$doc" "$rounds" "$dur" "$subs" "$loadavg_before" \
  "$loadavg_after" "$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
