#!/usr/bin/env bash
# `make bench`: runs the benchmarks of the release build and writes JSON to bench/results/.
#   1. micro: Google Benchmark suites of the core, codec and hub (bench/*_bench.cpp).
#   2. JS: bundle sizes of clients/js beside npm peers (bench/js/bundle-size.mjs).
#   3. server: scripts/bench-server.sh, when present (steadyws against the npm `ws` peer).
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
