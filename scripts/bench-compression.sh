#!/usr/bin/env bash
# scripts/bench-compression.sh OUTDIR: the compression figures of issue 11, in one run:
# fan-out of a 2 KB JSON payload to 1,000 subscribers from steadyws with --compression (no
# context takeover: one deflate per publish, the frame shared by every subscriber), beside
# steadyws without it and beside the npm `ws` peer with perMessageDeflate (one deflate per
# subscriber), with `steadyws bench` as the load. Same pinning as scripts/bench-server.sh
# (server on core 0, load on core 1, steadyws --threads 1 --rate-limit 0); a fresh server per
# case and round.
#
# Cases: fanout2k (`bench fanout --payload 2048 --payload-fill records --pace-by-delivery
# --compression`: every case offers permessage-deflate, a server without --compression
# declines it; the window counts publishes not yet delivered to every subscriber, so no case
# overflows its send queues): deliveries/s, per server CPU-second, bytes read off the sockets
# per delivery. idle10k (`bench idle --connections 10000`, heartbeats every 5 s as in
# bench-server.sh's idle case): RSS per idle connection with the extension agreed, beside
# steadyws without it.
# Writes OUTDIR/compression-raw/*.json, OUTDIR/compression.json (medians) and the section of
# docs/benchmarks.md between the compression:begin/compression:end markers (replaced in place;
# inserted after the TLS section, or before "## Soak", the first time). bench-server.sh
# regenerates that file without it, so `make bench` runs this after bench-server.sh.
#
# Knobs: STEADYWS_BIN, BENCH_ROUNDS [3], BENCH_DURATION [5], BENCH_ONLY (case names),
# BENCH_DOC [docs/benchmarks.md].
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/bench-compression.sh OUTDIR}
bin=${STEADYWS_BIN:-build/release/steadyws}
rounds=${BENCH_ROUNDS:-3}
dur=${BENCH_DURATION:-5}
only=${BENCH_ONLY:-}
doc=${BENCH_DOC:-docs/benchmarks.md}
raw="$out/compression-raw"
[ -x "$bin" ] || { echo "bench-compression: $bin not found; run make bench" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.log
echo '*' >"$raw/.gitignore"

tmp=$(mktemp -d /tmp/steadyws-bench-compression-XXXXXX)
log="$tmp/server.log"
# start_server KIND [extra args...] / stop_server (server_pid, server_port).
bench_name=bench-compression
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
trap 'stop_server; rm -rf "$tmp"' EXIT

# run VARIANT CASE KIND SERVER-ARGS... -- BENCH-ARGS...
run() {
  local variant=$1 name=$2 kind=$3
  shift 3
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return 0; fi
  local sargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do sargs+=("$1"); shift; done
  shift
  local round file
  for round in $(seq "$rounds"); do
    file="$raw/$variant-$name-$round.json"
    echo "== compression $name round $round/$rounds: $variant" >&2
    start_server "$kind" "${sargs[@]}" || { echo '{"failed":"server did not start"}' >"$file"; continue; }
    taskset -c 1 "$bin" bench "$@" --server-pid "$server_pid" \
      --url "ws://127.0.0.1:$server_port/ws" --json --no-progress >"$file" \
      2>"$raw/$variant-$name-$round.log" || true
    stop_server
  done
}

loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
fan=(fanout --subscribers 1000 --publishers 1 --in-flight 16 --payload 2048 --payload-fill records
  --pace-by-delivery --compression --duration "$dur" --warmup 1)
idle=(idle --connections 10000 --duration 5 --warmup 1)
run steadyws-off fanout2k steadyws -- "${fan[@]}"
run steadyws-on fanout2k steadyws --compression -- "${fan[@]}"
run ws-on fanout2k ws --per-message-deflate -- "${fan[@]}"
run steadyws-off idle10k steadyws --heartbeat-interval 5000 -- "${idle[@]}"
run steadyws-on idle10k steadyws --compression --heartbeat-interval 5000 -- "${idle[@]}" --compression
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

BENCH_RAW="$raw" BENCH_OUT="$out" BENCH_DOC="$doc" BENCH_ROUNDS="$rounds" BENCH_DUR="$dur" \
  BENCH_LOAD="$loadavg_before" BENCH_LOAD_AFTER="$loadavg_after" BENCH_COMMIT="$commit" \
  node bench/peers/compression-report.mjs
