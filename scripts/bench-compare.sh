#!/usr/bin/env bash
# scripts/bench-compare.sh BEFORE_BIN AFTER_BIN: the message path of two builds of steadyws in
# one run (issue 12: "ping16 and fan-out16 within 3 % of before, same run"). Each round runs
# ping16 and fanout16 against a server from each binary, in alternating order, with AFTER's
# `bench` as the load for both; the figure is work per server CPU-second (round trips or
# deliveries), the steady one on a shared machine (scripts/bench-server.sh). Prints a
# Markdown table of the medians and the change. Knobs: BENCH_ROUNDS [5], BENCH_DURATION [5],
# BENCH_ONLY ("ping16" or "fanout16").
set -uo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: scripts/bench-compare.sh BEFORE_BIN AFTER_BIN}
after=${2:?usage: scripts/bench-compare.sh BEFORE_BIN AFTER_BIN}
rounds=${BENCH_ROUNDS:-5}
dur=${BENCH_DURATION:-5}
raw=$(mktemp -d /tmp/steadyws-bench-compare-XXXXXX)
log=$raw/server.log
bench_name=bench-compare
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
trap 'stop_server; rm -rf "$raw"' EXIT

declare -A args=(
  [ping16]="ping --connections 100 --in-flight 16"
  [fanout16]="fanout --subscribers 1000 --publishers 1 --in-flight 16 --payload 64"
)
declare -A key=([ping16]=round_trips_per_server_cpu_s [fanout16]=deliveries_per_server_cpu_s)

for round in $(seq "$rounds"); do
  order=(before after)
  [ $((round % 2)) -eq 0 ] && order=(after before)
  for name in ${BENCH_ONLY:-ping16 fanout16}; do
    for which in "${order[@]}"; do
      if [ "$which" = before ]; then bin=$before; else bin=$after; fi
      echo "== $name round $round/$rounds: $which" >&2
      start_server steadyws || exit 1
      # shellcheck disable=SC2086  # the workload's words
      taskset -c 1 "$after" bench ${args[$name]} --duration "$dur" --warmup 1 \
        --server-pid "$server_pid" --url "ws://127.0.0.1:$server_port/ws" --json --no-progress \
        >"$raw/$which-$name-$round.json" 2>"$raw/$which-$name-$round.log" ||
        { echo "bench-compare: $which $name failed: $(tail -n2 "$raw/$which-$name-$round.log")" >&2; exit 1; }
      stop_server
    done
  done
done

node - "$raw" "$rounds" "$before" "$after" "${key[ping16]}" "${key[fanout16]}" <<'JS'
const fs = require('fs');
const [raw, rounds, before, after, pingKey, fanKey] = process.argv.slice(2);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const read = (which, name, k) => Array.from({ length: Number(rounds) }, (_, i) =>
  JSON.parse(fs.readFileSync(`${raw}/${which}-${name}-${i + 1}.json`, 'utf8'))[k]);
console.log(`before: ${before}\nafter:  ${after}\n${rounds} rounds, medians of work per server CPU-second\n`);
console.log('| workload | before (median; min–max) | after (median; min–max) | change |\n|---|---:|---:|---:|');
for (const [name, k] of [['ping16', pingKey], ['fanout16', fanKey]].filter(([n]) => fs.existsSync(`${raw}/before-${n}-1.json`))) {
  const bs = read('before', name, k), as = read('after', name, k);
  const b = median(bs), a = median(as);
  const f = (x) => Math.round(x).toLocaleString('en');
  const cell = (xs, m) => `${f(m)}; ${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  console.log(`| ${name} (${k}) | ${cell(bs, b)} | ${cell(as, a)} | ${((a / b - 1) * 100).toFixed(1)} % |`);
}
JS
