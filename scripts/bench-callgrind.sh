#!/usr/bin/env bash
# scripts/bench-callgrind.sh BEFORE_BIN AFTER_BIN: instructions per fan-out delivery of two
# builds of steadyws, counted by callgrind (repeatable, whatever else the machine does; the
# wall-clock comparison is scripts/bench-compare.sh). Each server runs under callgrind twice,
# with a short and a long fan-out window (200 subscribers, 1 publisher, AFTER's `bench` as the
# load); the difference between the two runs divided by the difference in deliveries is the
# cost of one more delivery, with start-up and connection set-up cancelled out. It also
# reports frames per write (one gathered write carries several frames when publishes come
# faster than a subscriber's write completes), because the cost per delivery depends on it.
# Modes: `window` (--in-flight 4: batching as in fanout16) and `rate` (5 publishes/s: one
# frame per write, so only the per-frame and per-write code is compared).
# Knobs: CG_MODES ["rate window"], CG_SHORT [10], CG_LONG [30] (seconds of the window).
set -uo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: scripts/bench-callgrind.sh BEFORE_BIN AFTER_BIN}
after=${2:?usage: scripts/bench-callgrind.sh BEFORE_BIN AFTER_BIN}
command -v valgrind >/dev/null || { echo "bench-callgrind: valgrind is not installed" >&2; exit 1; }
raw=$(mktemp -d /tmp/steadyws-bench-callgrind-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$raw"' EXIT

run_one() {  # bin mode seconds out
  local bin=$1 mode=$2 secs=$3 out=$4 port="" pid
  valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$bin" serve --host 127.0.0.1 \
    --port 0 --threads 1 --rate-limit 0 --log-level warn >"$out.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    port=$(sed -n 's/^listening on [^ ]*:\([0-9]*\)$/\1/p' "$out.log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "bench-callgrind: $bin did not start: $(tail -n3 "$out.log")" >&2; return 1; }
  local load="--in-flight 4"
  [ "$mode" = rate ] && load="--rate 5"
  # shellcheck disable=SC2086  # the load's words
  "$after" bench fanout --subscribers 200 --publishers 1 $load --payload 64 --duration "$secs" \
    --warmup 1 --url "ws://127.0.0.1:$port/ws" --json --no-progress >"$out.json" 2>"$out.err" ||
    { echo "bench-callgrind: bench failed: $(tail -n2 "$out.err")" >&2; kill "$pid"; return 1; }
  kill -TERM "$pid"
  wait "$pid"
}

# The four runs of a mode go at once: callgrind counts instructions, not time.
for mode in ${CG_MODES:-rate window}; do
  for which in before after; do
    bin=$before
    [ "$which" = after ] && bin=$after
    for secs in "${CG_SHORT:-10}" "${CG_LONG:-30}"; do
      run_one "$bin" "$mode" "$secs" "$raw/$which-$mode-$secs" &
    done
  done
  wait
done

node - "$raw" "${CG_SHORT:-10}" "${CG_LONG:-30}" "$before" "$after" ${CG_MODES:-rate window} <<'JS'
const fs = require('fs');
const { execFileSync } = require('child_process');
const [raw, short, long, before, after, ...modes] = process.argv.slice(2);
const annotate = (f, ...a) => execFileSync('callgrind_annotate', [...a, f], { maxBuffer: 1 << 28 }).toString();
const total = (f) => Number(/([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(annotate(f, '--auto=no'))[1].replace(/,/g, ''));
const writes = (f) => [...annotate(f, '--inclusive=yes', '--tree=calling', '--threshold=100')
  .matchAll(/=> .*FrameWriter::on_write\(.*?\(([\d,]+)x\)/g)].reduce((s, m) => s + Number(m[1].replace(/,/g, '')), 0);
const deliveries = (p) => JSON.parse(fs.readFileSync(`${p}.json`, 'utf8')).deliveries;
console.log(`before: ${before}\nafter:  ${after}\n`);
console.log('| mode | before: instructions per delivery | after | change | frames per write (before → after) |\n|---|---:|---:|---:|---:|');
for (const mode of modes) {
  const r = {};
  for (const which of ['before', 'after']) {
    const s = `${raw}/${which}-${mode}-${short}`, l = `${raw}/${which}-${mode}-${long}`;
    const dd = deliveries(l) - deliveries(s);
    r[which] = { ir: (total(`${l}.cg`) - total(`${s}.cg`)) / dd, fpw: dd / (writes(`${l}.cg`) - writes(`${s}.cg`)) };
  }
  const f = (x) => Math.round(x).toLocaleString('en');
  console.log(`| ${mode} | ${f(r.before.ir)} | ${f(r.after.ir)} | ${((r.after.ir / r.before.ir - 1) * 100).toFixed(1)} % | ${r.before.fpw.toFixed(2)} → ${r.after.fpw.toFixed(2)} |`);
}
JS
