#!/usr/bin/env bash
# scripts/soak.sh: the 10-minute soak of issue 6 (`make soak`; docs/soak.md). Builds nothing:
# `make soak` builds first. Starts `steadyws serve --port 0 --history 100000`, then runs
# `steadyws soak` with 1,000 clients and random proxy faults against it, sampling the server's
# VmRSS. Exits with the soak's verdict (0 = zero lost, zero duplicated, flat memory).
#
# Knobs (environment): STEADYWS_BIN [build/release/steadyws], SOAK_CLIENTS [1000],
# SOAK_DURATION [600] seconds, SOAK_SEED [1], SOAK_OUT [bench/results/soak.json] (the verdict
# as JSON; the table goes to stdout). Extra arguments are passed to `steadyws soak`.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${STEADYWS_BIN:-build/release/steadyws}
clients=${SOAK_CLIENTS:-1000}
duration=${SOAK_DURATION:-600}
seed=${SOAK_SEED:-1}
out=${SOAK_OUT:-bench/results/soak.json}

if [ ! -x "$bin" ]; then
  echo "soak: $bin not found; run 'make soak' (it builds first) or set STEADYWS_BIN" >&2
  exit 1
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$(dirname "$out")"

log=$(mktemp /tmp/steadyws-soak-server-XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -f "$log"
}
trap cleanup EXIT

"$bin" serve --host 127.0.0.1 --port 0 --history 100000 --log-level warn >"$log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/^listening on [^ ]*:\([0-9]*\)$/\1/p' "$log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "soak: the server did not start: $(tail -n3 "$log")" >&2
  exit 1
fi

echo "soak: server pid $server_pid on port $port; $clients clients for ${duration}s with faults" >&2
# The in-process proxy logs one `warn proxy close ... rst=true` line per reset connection
# (thousands per fault) and one `info proxy` line per fault; keep everything else.
"$bin" soak --url "ws://127.0.0.1:$port/ws" --server-pid "$server_pid" --clients "$clients" \
  --duration "$duration" --faults --seed "$seed" --json "$@" \
  2> >(grep --line-buffered -Ev '^(warn proxy close |info proxy )' >&2) >"$out"
rc=$?
kill -0 "$server_pid" 2>/dev/null || { echo "soak: the server died: $(tail -n5 "$log")" >&2; rc=1; }
# The human verdict from the JSON, so the file and the screen always agree.
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const e = r.errors, m = r.memory;
console.log(`soak: ${r.clients} clients, ${r.duration_s} s, faults ${JSON.stringify(r.faults)}, ${r.reconnects} reconnects`);
console.log(`soak: ${r.published} published, ${r.deliveries} deliveries (${r.replayed} replayed); lost ${e.lost}, duplicated ${e.duplicated}, errors ${e.total}`);
if (m.checked) console.log(`soak: server RSS median ${m.first_third_median_kb} KiB -> ${m.last_third_median_kb} KiB (${(m.growth * 100).toFixed(1)} %, limit ${(m.tolerance * 100).toFixed(0)} %); curve: ${m.samples.map(s => s[0].toFixed(0) + "s:" + (s[1] / 1024).toFixed(1)).join(" ")} MiB`);
if (r.first_error) console.log(`soak: first error: ${r.first_error}`);
console.log(`soak: verdict ${r.verdict.toUpperCase()} (${process.argv[2]})`);
' "$out" "$out" 2>/dev/null || { echo "soak: no verdict in $out" >&2; rc=1; }
exit $rc
