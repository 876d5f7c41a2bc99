#!/usr/bin/env bash
# `make bench`: runs the benchmarks of the release build and writes JSON to bench/results/.
#   1. micro: Google Benchmark suites of the core, codec and hub (bench/*_bench.cpp).
#   2. JS: bundle sizes of clients/js beside npm peers (bench/js/bundle-size.mjs).
#   3. server: scripts/bench-server.sh, when present (steadyws against the npm `ws` peer).
#   4. tls: scripts/bench-tls.sh (the same over wss://, issue 11).
#   4b. compression: scripts/bench-compression.sh (2 KB fan-out with permessage-deflate on and
#      off and the ws peer's perMessageDeflate; RSS per idle compressed connection, issue 11).
#   5. jwt: scripts/bench-jwt.sh: handshakes/s with a plain token, HS256, RS256 and ES256.
#   6. cluster: scripts/bench-cluster.sh (issue 13): 3 nodes on a real Redis beside one node
#      and the npm `ws` + `redis` peer; publishes/s through Redis and its cost per publish.
# docs/benchmarks.md records the figures, the machine and the commit they came from.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
bin=build/release/bench/micro_bench
if [ -x "$bin" ]; then
  echo "== micro benchmarks -> $out/micro.json"
  "$bin" --benchmark_out="$out/micro.json" --benchmark_out_format=json \
    --benchmark_min_time=0.2
fi
if [ -d node_modules/esbuild ]; then  # before the server bench: its report reads the JSON
  echo "== JS bundle size -> $out/js-bundle-size.json"
  node bench/js/bundle-size.mjs
fi
if [ -x scripts/bench-server.sh ]; then
  scripts/bench-server.sh "$out"
fi
if [ -x scripts/bench-tls.sh ]; then
  scripts/bench-tls.sh "$out"  # issue 11: wss:// beside ws:// and the ws peer over wss://
fi
# After bench-server.sh, which regenerates docs/benchmarks.md: the compression section goes back in.
if [ -x scripts/bench-compression.sh ]; then
  scripts/bench-compression.sh "$out"
fi
# After bench-server.sh, which regenerates docs/benchmarks.md: the JWT section goes back in.
if [ -x scripts/bench-jwt.sh ]; then
  scripts/bench-jwt.sh "$out"
fi
# After bench-server.sh as well: bench-cluster.sh puts its Cluster section back.
if [ -x scripts/bench-cluster.sh ]; then
  scripts/bench-cluster.sh "$out"
fi
