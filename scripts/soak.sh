#!/usr/bin/env bash
# scripts/soak.sh: the 10-minute soak of issue 6 (`make soak`; docs/soak.md). Builds nothing:
# `make soak` builds first. Starts `steadyws serve --port 0 --history H`, then runs
# `steadyws soak --history H` with 1,000 clients and random proxy faults against it, sampling
# the server's VmRSS. Exits with the soak's verdict (0 = zero lost, zero duplicated, flat
# memory).
#
# H (docs/soak.md "The history"): the memory rule measures leaks only once the per-channel
# history has filled up, so it must wrap inside the warm-up (the first quarter of the run),
# and it must hold the longest outage the faults cause (the soak plans for 20 s). At the
# soak's 20 publishes/s over 4 channels (5/s each): 300 for 600 s (full after 60 s of a 150 s
# warm-up; holds 60 s), and for shorter runs the run's length in seconds (full at 80 % of the
# warm-up; 120 s holds 24 s). `steadyws soak` checks H against both and probes the server.
#
# G, the server's --session-grace, for the same reason: every reconnect leaves a session behind
# for G, so the session table grows for G before it is steady (the default 120 s fills most of
# a 150 s warm-up, and a 120 s run never gets there: +39 % measured). G = an eighth of the run,
# at most 60 s: 60 s for 600 s, 15 s for 120 s. The soak's clients resume with since/epoch, not
# with session=, so G changes memory only, not what they receive.
#
# Knobs (environment): STEADYWS_BIN [build/release/steadyws], SOAK_CLIENTS [1000],
# SOAK_DURATION [600] seconds, SOAK_SEED [1], SOAK_HISTORY [H], SOAK_SESSION_GRACE [G, ms],
# SOAK_OUT [bench/results/soak.json] (the verdict as JSON; the table goes to stdout). Extra
# arguments are passed to `steadyws soak` (a different --rate or --channels needs its own
# SOAK_HISTORY).
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${STEADYWS_BIN:-build/release/steadyws}
clients=${SOAK_CLIENTS:-1000}
duration=${SOAK_DURATION:-600}
seed=${SOAK_SEED:-1}
out=${SOAK_OUT:-bench/results/soak.json}
history=${SOAK_HISTORY:-$((duration < 300 ? duration : 300))}
grace_ms=${SOAK_SESSION_GRACE:-$((duration * 125 < 60000 ? duration * 125 : 60000))}

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

"$bin" serve --host 127.0.0.1 --port 0 --history "$history" --session-grace "$grace_ms" \
  --log-level warn >"$log" 2>&1 &
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

echo "soak: server pid $server_pid on port $port (--history $history --session-grace $grace_ms); $clients clients for ${duration}s with faults" >&2
# The soak's in-process proxy is quiet: one `info proxy` line per fault, none per connection.
"$bin" soak --url "ws://127.0.0.1:$port/ws" --server-pid "$server_pid" --clients "$clients" \
  --duration "$duration" --faults --seed "$seed" --history "$history" --json "$@" >"$out"
rc=$?
kill -0 "$server_pid" 2>/dev/null || { echo "soak: the server died: $(tail -n5 "$log")" >&2; rc=1; }
# The human verdict from the JSON, so the file and the screen always agree.
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const e = r.errors, m = r.memory;
console.log(`soak: ${r.clients} clients, ${r.duration_s} s, faults ${JSON.stringify(r.faults)}, ${r.reconnects} reconnects`);
console.log(`soak: ${r.published} published, ${r.deliveries} deliveries (${r.replayed} replayed); lost ${e.lost}, duplicated ${e.duplicated}, errors ${e.total}`);
const h = r.history;
console.log(`soak: history ${h.given} per channel, largest replay ${h.max_replay}, oldest resend ${h.oldest_resend_s} s, wrapped by the warm-up: ${m.history_wrapped}`);
if (m.checked) console.log(`soak: server RSS median ${m.first_third_median_kb} KiB -> ${m.last_third_median_kb} KiB (${(m.growth * 100).toFixed(1)} %, limit ${(m.tolerance * 100).toFixed(0)} %); curve: ${m.samples.map(s => s[0].toFixed(0) + "s:" + (s[1] / 1024).toFixed(1)).join(" ")} MiB`);
if (r.first_error) console.log(`soak: first error: ${r.first_error}`);
console.log(`soak: verdict ${r.verdict.toUpperCase()} (${process.argv[2]})`);
' "$out" "$out" 2>/dev/null || { echo "soak: no verdict in $out" >&2; rc=1; }
exit $rc
