#!/usr/bin/env bash
# scripts/bench-server.sh OUTDIR: steadyws against the npm `ws` peer (bench/peers/ws-peer.mjs),
# in the same run, with `steadyws bench` as the load (issue 3 "Measures", issue 6).
#
# Each server runs on core 0 (`taskset -c 0`; steadyws with --threads 1 --rate-limit 0), the
# load on core 1. Every case passes the server's pid to `bench --server-pid`, which reads the
# server's CPU over the measured window: on a shared machine the work per server CPU-second
# is the steadier figure, since other processes slow the wall clock, not the server's cost. Every (server, workload, round) gets a fresh server process, so one run's
# memory or channels never leak into the next. A workload that fails is recorded as an error
# in the tables; the others still run. Builds nothing: `make bench` builds first.
#
# Writes OUTDIR/server-raw/*.json (one bench --json per round), OUTDIR/server.json (medians,
# ratios, targets) and regenerates docs/benchmarks.md (with OUTDIR/micro.json, when present).
#
# Knobs (environment): STEADYWS_BIN [build/release/steadyws], BENCH_ROUNDS [3],
# BENCH_DURATION [5] seconds per measurement, BENCH_ONLY (space-separated workload names, for
# a quick partial run), BENCH_DOC [docs/benchmarks.md], BENCH_HERD_CLIENTS [1000].
set -uo pipefail  # no -e: a failed workload is a result, not the end of the run
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/bench-server.sh OUTDIR}
bin=${STEADYWS_BIN:-build/release/steadyws}
rounds=${BENCH_ROUNDS:-3}
dur=${BENCH_DURATION:-5}
only=${BENCH_ONLY:-}
doc=${BENCH_DOC:-docs/benchmarks.md}
raw="$out/server-raw"
server_core=0
load_core=1
# Stress idle workloads (idle10k, idle19k): protocol pings every 5 s (6x the 30 s default) and
# a 10 s hold, so every connection is pinged twice while the CPU is measured.
idle_heartbeat_ms=5000
idle_hold=10
herd_clients=${BENCH_HERD_CLIENTS:-1000}
# idle19kdefault: both servers at their default heartbeat interval (30 s; neither gets
# --heartbeat-interval) and a 30 s hold, so every connection is pinged exactly once while the
# CPU is measured: steadyws pings each connection 30 s after it opened (all opened before the
# 1 s settle that precedes the hold), the ws peer pings all at once every 30 s.
idle_default_hold=30

if [ ! -x "$bin" ]; then
  echo "bench-server: $bin not found; run 'make bench' (it builds first) or set STEADYWS_BIN" >&2
  exit 1
fi
if ! node -e "import('ws')" 2>/dev/null; then
  echo "bench-server: npm package ws missing; run scripts/install-deps.sh (npm ci)" >&2
  exit 1
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # both servers and the load inherit it
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.log
echo '*' >"$raw/.gitignore"  # raw rounds are run output, like bench/results/*.json

log=$(mktemp /tmp/steadyws-bench-server-XXXXXX)
# start_server KIND [extra args...] / stop_server (server_pid, server_port).
bench_name=bench-server
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
trap 'stop_server; rm -f "$log"' EXIT


# run_case NAME SERVER-ARGS -- BENCH-ARGS: every round of one workload against both servers.
# {{PID}} in BENCH-ARGS becomes the server's pid.
run_case() {
  local name=$1
  shift
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then
    return 0
  fi
  local server_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    server_args+=("$1")
    shift
  done
  shift
  local round kind file args
  for round in $(seq "$rounds"); do
    for kind in steadyws ws; do
      file="$raw/$kind-$name-$round.json"
      echo "== $name round $round/$rounds: $kind" >&2
      if ! start_server "$kind" "${server_args[@]}"; then
        printf '{"failed":"server did not start","log":%s}\n' \
          "$(tail -n3 "$log" | node -e 'process.stdin.on("data",d=>process.stdout.write(JSON.stringify(String(d))))')" \
          >"$file"
        continue
      fi
      args=()
      for a in "$@"; do args+=("${a//\{\{PID\}\}/$server_pid}"); done
      taskset -c $load_core "$bin" bench "${args[@]}" --url "ws://127.0.0.1:$server_port/ws" \
        --json --no-progress >"$file" 2>"$raw/$kind-$name-$round.log"
      local rc=$?
      if ! node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' \
        "$file" 2>/dev/null; then
        printf '{"failed":"bench exited %d without a report: %s"}\n' "$rc" \
          "$(tail -n1 "$raw/$kind-$name-$round.log" | tr -d '"\\')" >"$file"
      fi
      kill -0 "$server_pid" 2>/dev/null ||
        echo "bench-server: $kind died during $name: $(tail -n3 "$log")" >&2
      stop_server
    done
  done
}

# run_herd: issue 6's herd. `steadyws bench herd` starts and restarts the server itself
# (--server-cmd, pinned like the others), so it does not go through start_server. steadyws
# gets both cuts (SIGTERM: 1001 with a retryAfterMs hint; SIGKILL); the ws peer has no drain
# hint, so only the kill cut compares like with like. Every jitter mode each time.
run_herd() {
  local name=herd
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then
    return 0
  fi
  local round kind file cmd cut
  for round in $(seq "$rounds"); do
    for kind in steadyws ws; do
      file="$raw/$kind-$name-$round.json"
      echo "== $name round $round/$rounds: $kind" >&2
      case $kind in
        steadyws)
          cmd="taskset -c $server_core $bin serve --host 127.0.0.1 --port {port} --threads 1"
          cmd+=" --rate-limit 0 --log-level warn"
          cut=both
          ;;
        ws)
          cmd="taskset -c $server_core node bench/peers/ws-peer.mjs --host 127.0.0.1 --port {port}"
          cut=kill
          ;;
      esac
      taskset -c $load_core "$bin" bench herd --clients "$herd_clients" --cut "$cut" \
        --server-cmd "$cmd" --json --no-progress >"$file" 2>"$raw/$kind-$name-$round.log"
      local rc=$?
      if ! node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' \
        "$file" 2>/dev/null; then
        printf '{"failed":"bench exited %d without a report: %s"}\n' "$rc" \
          "$(tail -n1 "$raw/$kind-$name-$round.log" | tr -d '"\\')" >"$file"
      fi
    done
  done
}

echo "== server benchmarks: $rounds rounds, ${dur}s each, server on core $server_core," \
  "load on core $load_core" >&2
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)

run_case ping1 -- ping --connections 100 --in-flight 1 --duration "$dur" --warmup 1 \
  --server-pid '{{PID}}'
run_case ping16 -- ping --connections 100 --in-flight 16 --duration "$dur" --warmup 1 \
  --server-pid '{{PID}}'
run_case fanout16 -- fanout --subscribers 1000 --publishers 1 --in-flight 16 --payload 64 \
  --duration "$dur" --warmup 1 --server-pid '{{PID}}'
run_case fanout50 -- fanout --subscribers 1000 --publishers 1 --rate 50 --payload 64 \
  --duration "$dur" --warmup 1 --server-pid '{{PID}}'
run_case idle10k --heartbeat-interval "$idle_heartbeat_ms" -- idle --connections 10000 \
  --duration "$idle_hold" --warmup 1 --server-pid '{{PID}}'
run_case idle19k --heartbeat-interval "$idle_heartbeat_ms" -- idle --connections 19000 \
  --duration "$idle_hold" --warmup 1 --server-pid '{{PID}}'
run_case idle19kdefault -- idle --connections 19000 --duration "$idle_default_hold" --warmup 1 \
  --server-pid '{{PID}}'
run_herd

loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

# The report: medians, ratios and targets into server.json and docs/benchmarks.md.
BENCH_OUT="$out" BENCH_RAW="$raw" BENCH_DOC="$doc" BENCH_ROUNDS="$rounds" BENCH_DURATION="$dur" \
  BENCH_IDLE_HEARTBEAT_MS="$idle_heartbeat_ms" BENCH_IDLE_HOLD="$idle_hold" \
  BENCH_IDLE_DEFAULT_HOLD="$idle_default_hold" BENCH_HERD_CLIENTS="$herd_clients" \
  BENCH_CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -n1)" \
  BENCH_CORES="$(nproc)" BENCH_KERNEL="$(uname -r)" \
  BENCH_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  BENCH_DIRTY="$(git status --porcelain --untracked-files=no 2>/dev/null | grep -qv '^$' && echo yes || echo no)" \
  BENCH_LOADAVG="$loadavg_before -> $loadavg_after" \
  BENCH_NODE="$(node --version)" \
  BENCH_WS="$(node -p 'require("./node_modules/ws/package.json").version' 2>/dev/null)" \
  node bench/peers/report.mjs
